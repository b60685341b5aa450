"""Plivo XML applications: documents parsed into verbs, run on call legs, and webhooks."""
