"""The web app and REST API (`fakelens serve`)."""

from fakelens.service.app import ServerConfig, create_app

__all__ = ["ServerConfig", "create_app"]
