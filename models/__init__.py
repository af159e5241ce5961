"""Storage: SQLAlchemy 2 models, migrations, writing results and exporting records."""
