"""Alembic environment: runs on the connection hub.store.db.migrate() hands over, or on HUB_DATABASE_URL."""

import os

from alembic import context
from sqlalchemy import create_engine

from hub.store.tables import metadata

config = context.config
target_metadata = metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = os.environ.get("HUB_DATABASE_URL") or "sqlite:///.hub/hub.sqlite"
    engine = create_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
