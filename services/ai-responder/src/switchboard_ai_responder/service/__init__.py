"""The service layer: what happens for each event on ``platform.events`` (``Responder``, split by idea into
conversation memory, answering, stored decisions, live chat and feedback) and for the management API's
actions (``Operations``)."""

from switchboard_ai_responder.providers.factory import ProviderFactory
from switchboard_ai_responder.service.feedback import feedback_event
from switchboard_ai_responder.service.operations import Operations
from switchboard_ai_responder.service.ports import Conflict, NotFound, Publisher, Stores
from switchboard_ai_responder.service.responder import HELD_TEXT, Responder

__all__ = [
    "HELD_TEXT",
    "Conflict",
    "NotFound",
    "Operations",
    "ProviderFactory",
    "Publisher",
    "Responder",
    "Stores",
    "feedback_event",
]
