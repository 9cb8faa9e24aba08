"""`supportbot email` as its own process: it builds the container and hands the mail connectors what they
need (the SMTP listener here), answers a mail through the configured smarthost and stops cleanly."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
from email import policy
from pathlib import Path

from tests.connectors.email.conftest import CUSTOMER, SUPPORT, Sink, mail
from tests.net import free_port
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[3]


def test_the_email_process_answers_a_mail_and_stops_on_sigterm(sink: Sink, tmp_path: Path) -> None:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env = {**clean, "SUPPORTBOT_DATA_DIR": str(tmp_path / "data"), "SUPPORTBOT_SMTP_HOST": "127.0.0.1",
           "SUPPORTBOT_SMTP_PORT": str(sink.port), "SUPPORTBOT_SMTP_FROM": SUPPORT,
           "SUPPORTBOT_EMBEDDED_STORE": "memory", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    log = tmp_path / "email.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "service.cli", "email", "--host", "127.0.0.1",
                                    "--port", str(port)], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: b"inbound SMTP on 127.0.0.1" in log.read_bytes() or process.poll() is not None,
                 timeout=120, what="the listener")
        assert process.poll() is None, log.read_text()
        question = mail("Cheese", "Is the moon made of cheese?", message_id="<process-1@example.test>")
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            smtp.sendmail(CUSTOMER, [SUPPORT], question.as_bytes(policy=policy.SMTP))
        [reply] = wait_for(lambda: sink.to(CUSTOMER), timeout=60, what="the reply")
        assert reply.mail["In-Reply-To"] == "<process-1@example.test>" and reply.mail["Subject"] == "Re: Cheese"
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0, log.read_text()
