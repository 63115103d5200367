"""Chat model providers behind one factory: extractive (offline default), openai, fake."""

from reasoning.models.extractive import OFFLINE_NOTE, ExtractiveChatModel, split_sentences
from reasoning.models.factory import make_chat_model
from reasoning.models.fake import FakeChatModel, message_hash, read_call_log
from reasoning.models.settings import ModelSettings, Provider
from reasoning.models.tasks import ask, parse_reply, parse_task, provider_name, task_messages

__all__ = [
    "OFFLINE_NOTE",
    "ExtractiveChatModel",
    "FakeChatModel",
    "ModelSettings",
    "Provider",
    "ask",
    "make_chat_model",
    "message_hash",
    "parse_reply",
    "parse_task",
    "provider_name",
    "read_call_log",
    "split_sentences",
    "task_messages",
]
