"""Plivo XML: the documents applications return, and the webhooks that fetch them."""
