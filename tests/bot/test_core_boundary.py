"""The core stays free of adapter libraries: importing every bot/ module must not pull one in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FORBIDDEN = ["redis", "fakeredis", "celery", "kombu", "fastapi", "starlette", "chromadb", "slack_bolt",
             "slack_sdk", "langchain_core", "rasa_sdk", "torch", "sentence_transformers", "sklearn"]

PROBE = f"""
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {FORBIDDEN!r}:
            raise ImportError('core imported ' + name)
sys.meta_path.insert(0, Block())
import bot
for module in pkgutil.iter_modules(bot.__path__):
    if module.name != 'testing':
        importlib.import_module('bot.' + module.name)
print('ok')
"""


def test_bot_imports_no_adapter_library() -> None:
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
