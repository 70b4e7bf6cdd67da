"""GraphiQL served by the service itself, so the IDE works on networks with no internet access.

The page is GET /graphql for browsers (Accept: text/html); its files are GET /graphiql/<file>, read from the
package (static/graphiql/). The vendored files there are unmodified npm distribution files, re-fetched by
tools/vendor_graphiql.sh. Each file's URL carries a hash of its content (`?v=`), so browsers may keep it for a
year and still fetch a new release at once. With SESSIONS_GQL_GRAPHIQL off none of this is routed.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import html
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

STATIC = Path(__file__).parent / "static" / "graphiql"
PATH = "/graphiql"

# placeholder in page.html -> the file under static/graphiql/ it names
PAGE_FILES = {
    "graphiql_css": "vendor/graphiql-3.8.3/graphiql.min.css",
    "page_css": "page.css",
    "react_js": "vendor/react-18.3.1/react.production.min.js",
    "react_dom_js": "vendor/react-dom-18.3.1/react-dom.production.min.js",
    "graphiql_js": "vendor/graphiql-3.8.3/graphiql.min.js",
    "start_js": "start.js",
}
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
ASSET_CACHE = "public, max-age=31536000, immutable"
# Everything from this origin only. Styles may be inline: React and CodeMirror set element styles.
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
               "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
               "frame-ancestors 'none'")


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    version: str  # the first 16 hex digits of the body's SHA-256

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


@dataclass(frozen=True)
class Files:
    page: str  # page.html, placeholders unfilled
    assets: dict[str, Asset]


def load_files(directory: Path = STATIC) -> Files:
    """Reads (and gzips) the page and the files it names; blocking, so run it in a thread."""
    assets: dict[str, Asset] = {}
    for name in PAGE_FILES.values():
        body = (directory / name).read_bytes()
        assets[name] = Asset(body=body, gzipped=gzip.compress(body, compresslevel=6, mtime=0),
                             media_type=MEDIA_TYPES[Path(name).suffix],
                             version=hashlib.sha256(body).hexdigest()[:16])
    return Files(page=(directory / "page.html").read_text(encoding="utf-8"), assets=assets)


def accepts_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        quality = params.strip().removeprefix("q=").strip() if params.strip().startswith("q=") else "1"
        try:
            return float(quality) > 0
        except ValueError:
            return False
    return False


class GraphiQL:
    """The page and its files, read from the package on first use (in a thread) and kept in memory."""

    def __init__(self, directory: Path = STATIC) -> None:
        self.directory = directory
        self._files: Files | None = None
        self._lock = asyncio.Lock()

    async def files(self) -> Files:
        if self._files is None:
            async with self._lock:
                if self._files is None:
                    self._files = await asyncio.to_thread(load_files, self.directory)
        return self._files

    async def page(self, request: Request) -> Response:
        files = await self.files()
        base = str(request.scope.get("root_path", "")).rstrip("/") + PATH
        text = files.page
        for placeholder, name in PAGE_FILES.items():
            url = f"{base}/{name}?v={files.assets[name].version}"
            text = text.replace("{{ " + placeholder + " }}", html.escape(url))
        return HTMLResponse(text, headers={"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_POLICY,
                                           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})

    async def asset(self, request: Request) -> Response:
        """GET /graphiql/{name}: one of the page's files, gzipped when the client accepts it; else 404."""
        files = await self.files()
        asset = files.assets.get(request.path_params["name"])
        if asset is None:
            return PlainTextResponse("not found", status_code=404)
        headers = {"Cache-Control": ASSET_CACHE, "ETag": asset.etag, "Vary": "Accept-Encoding",
                   "X-Content-Type-Options": "nosniff"}
        if asset.etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        if accepts_gzip(request.headers.get("accept-encoding", "")):
            headers["Content-Encoding"] = "gzip"
            return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)
