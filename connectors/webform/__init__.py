"""A municipality's or desk's own web form, posting signed sign-ups to the hub (Standard Webhooks)."""
