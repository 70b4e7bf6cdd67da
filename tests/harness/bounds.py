"""Time bounds shared by the tests that prove the event loop stays free while something hostile is handled."""

PROMPT_SECONDS = 5.0
"""A `{ serverTime }` sent beside a hostile request is answered within this. It is generous, because CI shares two
cores with the database, Redis and child processes; the defects it guards against blocked the loop for tens of
seconds to minutes, so a free loop and a blocked one are still far apart."""
