"""The two ways a notice goes out: a webhook POST and an e-mail.  Each returns an
:class:`Outcome` (sent, or why not and whether trying again can help) and never raises for a
delivery problem; compliance.notify decides about retries."""

from __future__ import annotations

import json
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import httpx

from coi.settings import Settings

TIMEOUT_S = 10.0
MAX_ERROR = 300


@dataclass
class Outcome:
    ok: bool
    error: str | None = None  # on success: a partial problem worth recording
    permanent: bool = False


def short(text: object, limit: int = MAX_ERROR) -> str:
    """One line of at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_of(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def send_webhook(client: httpx.Client, url: str, notice_id: int,
                  payload: dict[str, Any]) -> Outcome:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": f"coi-notice-{notice_id}"}
    try:
        response = client.post(url, content=body, headers=headers)
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        return Outcome(False, f"bad webhook URL {url}: {exc}", permanent=True)
    except httpx.TimeoutException:
        return Outcome(False, f"no answer within {TIMEOUT_S:g} s from {url}")
    except httpx.ConnectError as exc:
        url_ = httpx.URL(url)
        where = f"{url_.host}:{url_.port or (443 if url_.scheme == 'https' else 80)}"
        if "refused" in str(exc).lower():
            return Outcome(False, f"connection refused by {where}")
        return Outcome(False, f"cannot connect to {where}: {exc}")
    except httpx.HTTPError as exc:
        return Outcome(False, f"{type(exc).__name__} from {url}: {exc}")
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(True)
    error = f"HTTP {code} from {url}"
    if code >= 500 or code in (408, 429):
        return Outcome(False, error)
    # 4xx (and a 3xx, which a webhook does not follow): the same request gets the same answer.
    detail = response.text.strip() if 400 <= code < 500 else response.headers.get("location")
    return Outcome(False, f"{error}: {detail}" if detail else error, permanent=True)


def email_message(sender: str, to: list[str], notice_id: int,
                  payload: dict[str, Any]) -> EmailMessage:
    """The e-mail of one notice (the same for every try, but for its Date)."""
    name = short(payload["vendor"]["name"], 200)
    status, previous = payload["status"], payload.get("previous")
    msg = EmailMessage()
    alert = payload.get("alert") or status
    msg["Subject"] = f"[coi] {name} is now {status}" if alert == status else \
        f"[coi] {name}: a policy is {alert} (status {status.replace('_', ' ')})"
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<coi-notice-{notice_id}@coi>"
    msg["Auto-Submitted"] = "auto-generated"
    was = f"was {previous}" if previous else "first evaluation"
    lines = [f"{name} is now {status} ({was}).", ""]
    reasons = payload.get("reasons") or []
    if reasons:
        lines.append("Reasons:")
        for reason in reasons:
            text = reason.get("message") if isinstance(reason, dict) else None
            lines.append(f"- {short(text or reason, 1000)}")
    else:
        lines.append("No reasons given.")
    lines += ["", f"Status as of {payload.get('as_of')}, changed at {payload.get('changed_at')}.",
              "", f"-- coi notice {notice_id}"]
    msg.set_content("\n".join(lines) + "\n")
    return msg


def send_email(settings: Settings, target: str, notice_id: int,
                payload: dict[str, Any]) -> Outcome:
    if not settings.smtp_host:
        return Outcome(False, "no smtp_host configured for e-mail notices", permanent=True)
    to = [a for a in (part.strip() for part in target.split(",")) if a]
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        msg = email_message(settings.smtp_from, to, notice_id, payload)
    except (ValueError, TypeError, KeyError) as exc:
        return Outcome(False, f"cannot build the e-mail: {exc}", permanent=True)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_S) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            refused = smtp.send_message(msg, from_addr=settings.smtp_from, to_addrs=to)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return Outcome(False, f"recipients refused by {where}: {refusals(exc.recipients)}",
                        permanent=all(code >= 500 for code in codes))
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth, ...
        return Outcome(False, f"SMTP {exc.smtp_code} from {where}: {text_of(exc.smtp_error)}",
                        permanent=exc.smtp_code >= 500)
    except smtplib.SMTPNotSupportedError as exc:  # e.g. no STARTTLS or AUTH offered
        return Outcome(False, f"{where}: {exc}", permanent=True)
    except smtplib.SMTPServerDisconnected:
        return Outcome(False, f"connection closed by {where}")
    except smtplib.SMTPException as exc:
        return Outcome(False, f"SMTP error from {where}: {exc}")
    except ConnectionRefusedError:
        return Outcome(False, f"connection refused by {where}")
    except TimeoutError:
        return Outcome(False, f"no answer within {TIMEOUT_S:g} s from {where}")
    except OSError as exc:
        return Outcome(False, f"cannot connect to {where}: {exc}")
    if refused:  # the others got it: sending again would repeat it to them
        return Outcome(True, f"some recipients refused by {where}: {refusals(refused)}")
    return Outcome(True)


def refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(f"{addr} ({code} {text_of(msg)})"
                     for addr, (code, msg) in recipients.items())
