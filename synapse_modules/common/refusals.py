"""How GovChat's plain rules say no, shared by every module so there is one of each.

- `Refusal`: a rule's answer to "may this be done now?" (a value, returned, not raised).
- `InvalidRequest`: a request field is wrong (raised by a parser, turned into a 400/404 by the servlet).

Plain values: nothing here knows Synapse. The servlets turn them into Matrix errors, a service through
`common.http.RequestRefused` (the exception that carries code, errcode and sentence to the client).
"""

from __future__ import annotations

from dataclasses import dataclass

FORBIDDEN = "M_FORBIDDEN"
WRONG_STATE = "MY.GOV.GOVCHAT_WRONG_STATE"


@dataclass(frozen=True)
class Refusal:
    code: int  # 403 (not yours to do) or 409 (not in this state, or already done)
    errcode: str
    message: str  # one sentence, Malay / English


class InvalidRequest(Exception):
    """A request field is wrong; `message` is one bilingual sentence naming the field, `status` 400 or 404."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status
