"""What messaging mutations take."""

from __future__ import annotations

import strawberry


@strawberry.input
class SendMessageInput:
    conversation_id: strawberry.ID | None = None
    recipient_id: strawberry.ID | None = strawberry.field(
        default=None, description="A Member or Provider id; opens the pair's conversation.")
    body: str
    session_id: strawberry.ID | None = None
    client_message_id: str
