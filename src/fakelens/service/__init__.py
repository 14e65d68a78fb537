"""The web app and REST API (`fakelens serve`)."""

from fakelens.service.app import create_app

__all__ = ["create_app"]
