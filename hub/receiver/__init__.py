"""The receiver: a FastAPI app that speaks each partner's existing contract (routes live in connectors)."""

from hub.receiver.app import create_receiver

__all__ = ["create_receiver"]
