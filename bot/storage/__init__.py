"""The couple's data: SQLModel models, the engine, and Alembic migrations."""
