"""The sandbox municipal web form: a page that posts signed sign-ups to the hub's receiver."""
