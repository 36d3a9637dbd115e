"""Errors the service layer raises; the API maps each to one HTTP status, in one place
(:func:`edge.api.app.create_app`)."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: the message is meant for the caller (it becomes the response's detail)."""


class ServiceUnavailable(ServiceError):
    """The edge cannot answer now (its owner loop is stuck, or the part needed is missing)."""


class RequestRejected(ServiceError):
    """A request the edge understood but will not carry out; the message says why."""


class NotFound(ServiceError):
    """What the request names does not exist (an alert, a member, a product)."""
