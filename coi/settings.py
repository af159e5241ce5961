"""The one settings object of the coi command line and the ingest flow.

Sources, highest priority first: values passed in code (the CLI's ``--db``/``--workers``),
environment variables ``COI_<NAME>``, a TOML file (``$COI_CONFIG`` or ``./coi.toml``), the
defaults below.  The README documents every setting; keep the two in agreement.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV = "COI_CONFIG"
DEFAULT_CONFIG = Path("coi.toml")


class ConfigFileError(ValueError):
    """``$COI_CONFIG`` names a file that does not exist."""


def config_file() -> Path | None:
    """The TOML file settings are read from, or None when there is none.

    An explicit ``$COI_CONFIG`` must exist (a typo should not silently fall back to defaults);
    ``./coi.toml`` is optional.
    """
    named = os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigFileError(f"{CONFIG_ENV}={named} does not name a file")
        return path
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COI_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the record store; None means models.db's default "
        "(sqlite:///data/coi.db, relative to the working directory).",
    )
    root: Path = Field(
        default=Path("data"),
        description="The watched root folder: inbox/, processing/, archive/, quarantine/; "
        "the default database (coi.db) and coi's own state live there too.",
    )
    data_dir: Path | None = Field(
        default=None,
        description="Where coi keeps its own state: Prefect's home (API database, "
        "profiles) and the log file.  Default: the root.",
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Documents read in parallel (threads; each runs its own tesseract).",
    )
    page_timeout: float = Field(
        default=120.0, gt=0, description="Seconds one page may take to render or OCR."
    )
    max_pages: int = Field(default=50, ge=1, description="Pages read per document at most.")
    watch_interval: float = Field(
        default=30.0, gt=0, description="Seconds between inbox-watch runs of `coi serve`.")
    batch_cron: str = Field(
        default="0 2 * * *", description="Cron schedule of the scheduled-batch deployment.")
    settle: float = Field(
        default=2.0, ge=0, description="Seconds between the two looks at the inbox that must "
        "see a file unchanged before it is taken.")
    grace: float = Field(
        default=300.0, ge=0, description="Seconds a file that looks incomplete (a PDF with no "
        "end) may stay unchanged before it is taken anyway, to be quarantined as damaged.")
    server_port: int = Field(
        default=4200, ge=1, le=65535,
        description="Port of the Prefect server `coi serve` starts on 127.0.0.1 (when "
        "PREFECT_API_URL is not set).")

    requirements: Path = Field(
        default=Path("requirements"),
        description="Folder of requirement profiles (*.yaml), one profile per file.")
    default_profile: str = Field(
        default="standard",
        description="Profile of a vendor added or imported without one.")
    compliance_cron: str = Field(
        default="0 6 * * *",
        description="Cron schedule of the daily compliance re-evaluation under `coi serve`.")
    # Lists come from the environment comma-separated (COI_WEBHOOK_URLS=https://a,https://b),
    # from coi.toml as TOML arrays.
    webhook_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="URLs that get a JSON POST when a vendor becomes deficient, expiring "
        "or expired.")
    smtp_host: str | None = Field(
        default=None, description="SMTP server for notices by e-mail; none: no e-mail.")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_starttls: bool = Field(default=False, description="STARTTLS before signing in.")
    smtp_user: str | None = Field(default=None, description="SMTP user name, if it needs one.")
    smtp_password: str | None = Field(default=None, description="SMTP password.")
    smtp_from: str = Field(default="coi@localhost", description="Sender of notices.")
    smtp_to: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Recipients of notices (comma-separated).")
    notify_attempts: int = Field(
        default=4, ge=1,
        description="Tries per notice in one delivery run, with backoff between them.")
    notify_backoff: float = Field(
        default=2.0, ge=0,
        description="Seconds before the second try; doubled for each further one.")
    notify_give_up: int = Field(
        default=12, ge=1,
        description="Tries over all runs after which a notice is marked failed.")

    @field_validator("webhook_urls", "smtp_to", mode="before")
    @classmethod
    def _comma_list(cls, v: object) -> object:
        if isinstance(v, str):
            return [part.strip() for part in v.split(",") if part.strip()]
        return v

    @property
    def state_dir(self) -> Path:
        return self.data_dir if self.data_dir is not None else self.root

    @field_validator("database_url")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        # COI_DATABASE_URL= (empty) in a shell means "unset", not an empty URL.
        return v or None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once (``get_settings.cache_clear()`` re-reads)."""
    return Settings()
