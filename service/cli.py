"""`supportbot` command line: serve, demo, worker, ingest, ask, eval, train, report."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

if TYPE_CHECKING:
    from bot.gates import GateConfig

SAMPLE_DOCS = Path(__file__).parent / "sample_docs"


def _settings():  # type: ignore[no-untyped-def]
    from service.settings import load_settings

    try:
        return load_settings()
    except ValidationError as error:
        sys.exit(f"supportbot: invalid settings:\n{error}")


def _logging(settings, level: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """Configure this process's logs from the settings; the config is also what uvicorn gets."""
    from service.logs import configure_logging, log_config

    configure_logging(settings.log_format, level)
    return log_config(settings.log_format, level)


def cmd_serve(args: argparse.Namespace, settings=None) -> int:  # type: ignore[no-untyped-def]
    import uvicorn

    from service.asgi import SERVER_OPTIONS, create_app

    settings = settings or _settings()
    logs = _logging(settings, args.log_level)
    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    if getattr(args, "ingest", None):
        _ingest(settings, Path(args.ingest))
    base = f"http://{settings.host}:{settings.port}"
    if args.workers > 1:  # stateless processes sharing Redis: each builds its own app from the environment
        if settings.embedded:
            sys.exit("supportbot: --workers needs SUPPORTBOT_REDIS_URL (embedded state lives in one process)")
        if not settings.agent_token:
            sys.exit("supportbot: --workers needs SUPPORTBOT_AGENT_TOKEN, so every process accepts the same one")
        logging.getLogger("supportbot").info(f"{args.workers} processes on {base}")
        uvicorn.run("service.asgi:app_from_environment", factory=True, host=settings.host, port=settings.port,
                    workers=args.workers, log_level=args.log_level, log_config=logs, **SERVER_OPTIONS)
        return 0
    generated = not settings.agent_token
    app = create_app(settings, serving_process=True)
    # the token is shown only when generated here (nobody could learn it otherwise), never one configured
    token = f"  agent token {settings.agent_token}" if generated else ""
    logging.getLogger("supportbot").info(f"widget demo {base}/demo  agent console {base}/console{token}  "
                                         f"({'embedded' if settings.embedded else 'redis'} mode)")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level, log_config=logs,
                **SERVER_OPTIONS)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from service.demo import demo_environment, demo_settings, demo_shop

    demo_environment()
    args.ingest = str(SAMPLE_DOCS)
    args.workers = 1
    settings = _settings()
    demo_settings(settings)
    with demo_shop(settings):
        return cmd_serve(args, settings)


def cmd_slack(args: argparse.Namespace) -> int:
    from connectors.slack.main import run

    settings = _settings()
    _logging(settings, "info")
    return int(run(settings) or 0)


def cmd_email(args: argparse.Namespace) -> int:
    from service.email_process import run

    settings = _settings()
    _logging(settings, "info")
    return int(run(settings, args.host, args.port) or 0)


def cmd_worker(args: argparse.Namespace) -> int:
    import workers.signals  # noqa: F401  (before the worker sets up logging: ours, not Celery's)
    from workers.celery_app import app

    settings = _settings()
    if settings.celery_broker is None:
        sys.exit("supportbot: the worker needs SUPPORTBOT_REDIS_URL (or SUPPORTBOT_BROKER_URL)")
    _logging(settings, args.loglevel)  # before the worker starts: its first warnings are log lines too
    quiet = ["--quiet"] if settings.log_format == "json" else []  # no banner amid the JSON lines
    from celery.bin.celery import celery as celery_command

    # what app.worker_main does, keeping the worker's exit code (worker_main drops it): a worker that gave
    # up on its broker exits non-zero, for its supervisor (compose's restart policy, systemd) to start it again
    celery_command.params[0].default = app
    code = celery_command.main(args=[*quiet, "worker", "--loglevel", args.loglevel, "--concurrency",
                                     str(args.concurrency), "--without-gossip", "--without-mingle"],
                               standalone_mode=False)
    return int(code or 0)


def _ingest(settings, path: Path, progress: bool = True) -> dict:  # type: ignore[no-untyped-def,type-arg]
    from knowledge.embedding import warm_encoder
    from knowledge.ingest import ingest_folder, ingest_site
    from service.container import build_knowledge

    if str(path).startswith(("http:/", "https:/")):  # Path() folds the double slash
        url = str(path).replace(":/", "://", 1)
        return ingest_site(build_knowledge(settings), url, progress=progress, warm_up=warm_encoder).as_dict()
    if not path.is_dir():
        sys.exit(f"supportbot: {path} is not a folder")
    report = ingest_folder(build_knowledge(settings), path, progress=progress, warm_up=warm_encoder)
    return report.as_dict()


def _index(settings) -> str:  # type: ignore[no-untyped-def]
    """Where the knowledge base lives, in the words a user can act on."""
    where = settings.chroma_url or str(settings.chroma_path.resolve())
    return f"{where} (collection {settings.collection!r})"


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = _settings()
    report = _ingest(settings, Path(args.path), progress=not args.quiet)
    print(json.dumps({**report, "index": _index(settings)}))
    return 0


def _ask_server(args: argparse.Namespace) -> int:
    from service.ask import ServerRefused, ask_server, preview_server, render

    token = args.token or _settings().agent_token
    if args.preview and not token:
        print("supportbot: --preview asks the server as an agent: pass --token or set SUPPORTBOT_AGENT_TOKEN",
              file=sys.stderr)
        return 1
    try:
        if args.preview:
            result = preview_server(args.url, args.question, token=token, channel=args.channel)
        else:
            result = ask_server(args.url, args.question, token=token)
    except ServerRefused as error:
        print(f"supportbot: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result) if args.json else render(result))
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Without --url: a preview here, under the gates the server built from the same settings would apply
    (the demo's with --demo; phases changed on the admin page too, when the store is a shared Redis)."""
    if args.url:
        return _ask_server(args)
    from service.ask import render
    from service.container import build_container, build_knowledge
    from service.demo import DEMO_MODEL
    from service.preview import preview

    if args.demo:
        from service.demo import demo_environment, demo_settings

        demo_environment()
    settings = _settings()
    if args.demo:
        demo_settings(settings)
    elif settings.categories_file is None and (settings.data_dir / DEMO_MODEL).exists():
        print("supportbot: note: `supportbot demo` served from this data folder; add --demo to ask under its "
              "categories (without it everything is `general`, answered in `full`)", file=sys.stderr)
    if build_knowledge(settings).count() == 0:  # type: ignore[attr-defined]
        print(f"supportbot: the knowledge base at {_index(settings)} is empty: run `supportbot ingest FOLDER` "
              "first (or set SUPPORTBOT_DATA_DIR / SUPPORTBOT_CHROMA_URL to where it was ingested)", file=sys.stderr)
        return 1

    async def ask() -> dict:  # type: ignore[type-arg]
        container = build_container(settings)
        try:
            return (await preview(container.dialogue, args.question, args.channel)).model_dump()
        finally:
            await container.close()

    result = asyncio.run(ask())
    if args.json:
        print(json.dumps(result))
    else:
        print(render(result, f"confidence {result['confidence']:.2f} ({result['explanation']}); "
                             f"index {_index(settings)}"))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    forwarded = args.rest
    if args.what == "categorize":
        from knowledge.eval_categorize import main
    elif args.what == "retrieval":
        from knowledge.eval_retrieval import main
    elif args.what == "reader":
        from knowledge.eval_reader import main  # type: ignore[no-redef]
    elif args.what == "answers":
        from service.eval_answers import main  # type: ignore[no-redef]
    else:
        from service.eval_transcripts import main  # type: ignore[no-redef]
    return main(forwarded)


def cmd_privacy(args: argparse.Namespace) -> int:
    """Export or erase everything held about one customer (needs the deployment's Redis)."""
    from service.container import build_attachments, build_redis
    from service.privacy import CustomerRecords

    settings = _settings()
    if settings.embedded:
        sys.exit("supportbot: privacy needs SUPPORTBOT_REDIS_URL (embedded data lives in the server process)")

    async def run() -> dict:  # type: ignore[type-arg]
        redis = build_redis(settings)
        try:
            records = CustomerRecords(redis, settings.redis_prefix, files=build_attachments(settings))
            return await (records.export(args.customer) if args.action == "export" else records.erase(args.customer))
        finally:
            await redis.aclose()

    print(json.dumps(asyncio.run(run()), indent=2))
    return 0


def _recorded(args: argparse.Namespace) -> tuple[list[dict], GateConfig]:  # type: ignore[type-arg]
    """The journal and the gates in force: from a recorded history file (`report export` output) and the
    categories file, or from the deployment's Redis with the phases admins changed in the console."""
    settings = _settings()
    if args.history:
        from service.container import load_gates

        rows = []
        for number, line in enumerate(Path(args.history).read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as error:
                    sys.exit(f"supportbot: {args.history}:{number}: not JSON: {error}")
        return rows, load_gates(settings)
    if settings.embedded:
        sys.exit("supportbot: reports read the journal in Redis; set SUPPORTBOT_REDIS_URL or pass --history FILE")
    from service.container import build_container

    async def export() -> tuple[list[dict], GateConfig]:  # type: ignore[type-arg]
        container = build_container(settings)
        try:
            return await container.journal.export(), await container.dialogue.responder.current_gates()
        finally:
            await container.close()

    return asyncio.run(export())


def _store_floors(settings, floors: dict[str, float]) -> None:  # type: ignore[no-untyped-def]
    """The floors just proven become the ones every process applies (SUPPORTBOT_CEILING_APPLY)."""
    from service.container import build_redis
    from service.redis_store import RedisProvenFloors

    async def store() -> None:
        redis = build_redis(settings)
        try:
            await RedisProvenFloors(redis, settings.redis_prefix).replace(floors)
        finally:
            await redis.aclose()

    asyncio.run(store())


def cmd_report(args: argparse.Namespace) -> int:
    entries, gates = _recorded(args)
    if args.what == "export":
        for entry in entries:
            print(json.dumps(entry))
        return 0
    if args.what == "phases":
        from bot.ceiling import Ceiling
        from bot.reports import format_phase_report, phase_report

        settings = _settings()
        rows = phase_report(entries, gates, channel=args.channel, edited=settings.ceiling_edited,
                            ceiling=Ceiling(alpha=settings.ceiling_alpha, delta=settings.ceiling_delta))
        if settings.ceiling_apply and not args.history:
            _store_floors(settings, {r.category: r.ceiling.floor for r in rows if r.ceiling.floor is not None})
        print(json.dumps([r.model_dump(mode="json") for r in rows]) if args.json else format_phase_report(rows))
        return 0
    from knowledge.gaps import cluster_gaps, unanswered_questions

    gaps = cluster_gaps(unanswered_questions((e for e in entries if e.get("kind") == "turn"),
                                             gates.thresholds.min_retrieval_score))
    if args.json:
        print(json.dumps([g.model_dump() for g in gaps]))
    else:
        for g in gaps:
            print(f"{g.count:>4}  {g.title}")
            for example in g.examples[1:]:
                print(f"        - {example}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    if args.what == "confidence":
        return _train_confidence(args)
    if not args.data:
        print("supportbot: train categories needs --data FILE.jsonl", file=sys.stderr)
        return 2
    from knowledge.eval_categorize import train_from_file

    settings = _settings()
    out = Path(args.out) if args.out else (
        Path(settings.categories_file).with_suffix(".model") if settings.categories_file else
        settings.data_dir / "categories.model")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        model = train_from_file(args.data, limit=args.limit)
    except ValueError as error:
        print(f"supportbot: {error}", file=sys.stderr)
        return 2
    model.save(out)
    print(json.dumps({"artifact": str(out)}))
    return 0


def _train_confidence(args: argparse.Namespace) -> int:
    """Fit the confidence to reviewed turns; print held-out reliability of the product and of the fit."""
    from knowledge.calibration import compare, fit_calibration, labelled_turns
    from service.container import calibration_path

    settings = _settings()
    pairs = labelled_turns(*_recorded(args))
    try:
        calibration = fit_calibration(pairs)
        figures = compare(pairs, precision=args.precision)
    except ValueError as error:
        print(f"supportbot: {error}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else calibration_path(settings)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(calibration.model_dump_json(indent=2), encoding="utf-8")
    print(json.dumps({"artifact": str(out), **figures}))
    return 0


def cmd_agents(args: argparse.Namespace) -> int:
    import getpass

    from connectors.console.accounts import AccountRole, Accounts, Profile, normalize_username
    from connectors.console.auth import LoginAttempts
    from service.container import build_redis

    settings = _settings()
    if settings.embedded:
        sys.exit("supportbot: accounts live in Redis; set SUPPORTBOT_REDIS_URL "
                 "(the embedded demo creates its admin from SUPPORTBOT_ADMIN_PASSWORD)")

    async def run() -> int:
        redis = build_redis(settings)
        accounts = Accounts(redis, settings.redis_prefix)
        try:
            if args.action == "add":
                password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
                try:
                    account = await accounts.add(args.username, password, AccountRole(args.role), args.name or "",
                                                 args.avatar or "")
                except ValueError as error:
                    print(f"supportbot: {error}", file=sys.stderr)
                    return 2
                print(json.dumps({"username": account.username, "role": account.role.value,
                                  "display_name": account.display_name}))
            elif args.action == "profile":
                current = await accounts.get(args.username)
                if current is None:
                    print(f"supportbot: no agent named {args.username!r}", file=sys.stderr)
                    return 2
                try:
                    profile = Profile(display_name=current.display_name if args.name is None else args.name,
                                      avatar_url=current.avatar_url if args.avatar is None else args.avatar)
                except ValueError as error:
                    print(f"supportbot: {error}", file=sys.stderr)
                    return 2
                account = await accounts.update_profile(args.username, profile)
                print(json.dumps(account.public()))
            elif args.action == "remove":
                await accounts.remove(args.username)
            elif args.action == "unlock":
                cleared = await LoginAttempts(redis, settings.redis_prefix).unlock(normalize_username(args.username))
                print(json.dumps({"username": normalize_username(args.username), "cleared": cleared}))
            elif args.action == "second-factor":
                try:
                    if args.off:
                        await accounts.disable_second_factor(args.username)
                        print(json.dumps({"username": normalize_username(args.username), "second_factor": False}))
                    else:
                        print(await accounts.enable_second_factor(args.username, issuer="supportbot"))
                except KeyError:
                    print(f"supportbot: no account {args.username!r}", file=sys.stderr)
                    return 2
            else:
                for account in await accounts.all():
                    print(f"{account.username}\t{account.role.value}\t{account.display_name}")
            return 0
        finally:
            await redis.aclose()

    return asyncio.run(run())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supportbot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    for name, handler, helptext in (("serve", cmd_serve, "API, widget and agent console"),
                                    ("demo", cmd_demo, "ingest the sample help centre, then serve")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--host", help="address to listen on (SUPPORTBOT_HOST, default 127.0.0.1)")
        p.add_argument("--port", type=int, help="port to listen on (SUPPORTBOT_PORT, default 8000)")
        p.add_argument("--log-level", default="info", help="uvicorn's log level: debug, info, warning, error")
        if name == "serve":
            p.add_argument("--ingest", metavar="PATH", help="ingest this folder before serving")
            p.add_argument("--workers", type=int, default=1, help="processes (Redis mode)")
        p.set_defaults(func=handler)

    p = sub.add_parser("slack", help="the Slack app alone: HTTP events, or Socket Mode with an app token")
    p.set_defaults(func=cmd_slack)

    p = sub.add_parser("email", help="read support mailboxes over IMAP and/or listen for SMTP; "
                                     "replies via SUPPORTBOT_SMTP_HOST")
    p.add_argument("--host", help="address the SMTP listener binds")
    p.add_argument("--port", type=int, help="port the SMTP listener binds")
    p.set_defaults(func=cmd_email)

    p = sub.add_parser("worker", help="Celery worker for handoffs and reminders")
    p.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--loglevel", default="info", help="Celery's log level")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("ingest", help="ingest a folder of .md/.html/.txt/.pdf/.docx documents or a help-centre site "
                                      "into the index "
                                      "(SUPPORTBOT_DATA_DIR/chroma, or SUPPORTBOT_CHROMA_URL); prints where")
    p.add_argument("path", help="the folder (files no longer in it are removed from the index), or a help-centre "
                                "site: its sitemap URL or a start page (pages no longer found are removed)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", help="ask the bot one question and print its decision (a draft's text too)",
                       description="Without --url the question is previewed here (nothing is stored, no handoff "
                                   "opens), from the index in SUPPORTBOT_DATA_DIR/chroma (or SUPPORTBOT_CHROMA_URL) "
                                   "under the gates `serve` builds from the same settings (`demo`'s with --demo): "
                                   "this loads the embedding model, seconds per call. With --url a running server "
                                   "answers at once: --preview asks for its decision alone; without it the question "
                                   "is a customer's, opening a real conversation (and queue item, when handed off).")
    p.add_argument("question", help="what a customer would write")
    p.add_argument("--url", help="ask a running server (e.g. http://127.0.0.1:8000)")
    p.add_argument("--preview", action="store_true",
                   help="decide without a conversation or handoff (the default without --url; with --url it needs "
                        "the agent token)")
    p.add_argument("--token", help="with --url: the agent token (default SUPPORTBOT_AGENT_TOKEN), for --preview and "
                                   "to show a draft's text")
    p.add_argument("--demo", action="store_true",
                   help="without --url: stand for `supportbot demo` (its categories and trained categorizer)")
    p.add_argument("--channel", default="web", help="the channel whose phase gates apply (a preview's)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("report", help="phase promotion evidence, knowledge gaps, or a journal export")
    p.add_argument("what", choices=["phases", "gaps", "export"],
                   help="phases: promotion evidence and proven confidence floors per category (stored for every "
                        "process when SUPPORTBOT_CEILING_APPLY is on); gaps: unanswered questions by topic; "
                        "export: the journal as JSON lines")
    p.add_argument("--history", metavar="FILE.jsonl", help="a recorded journal instead of the live Redis")
    p.add_argument("--channel", default="web", help="phases: the channel whose phases apply")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("train", help="train the categorizer, or fit the confidence to reviewed turns")
    p.add_argument("what", choices=["categories", "confidence"], help="which model to train")
    p.add_argument("--data", help='categories: JSONL lines {"text": ..., "label": ...}')
    p.add_argument("--history", metavar="FILE.jsonl",
                   help="confidence: a recorded journal (`report export`) instead of the live Redis")
    p.add_argument("--precision", type=float, default=0.9,
                   help="confidence: share of automatic answers that must be acceptable; the output suggests "
                        "the SUPPORTBOT_MIN_CONFIDENCE that keeps it")
    p.add_argument("--out", help="artifact path (default: next to the categories file; "
                                 "confidence: SUPPORTBOT_CALIBRATION_FILE or data_dir/confidence.json)")
    p.add_argument("--limit", type=int, help="categories: train on the first N lines only")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("agents", help="console accounts: add, profile (display name, avatar), remove, list, unlock "
                                      "after failed sign-ins, second-factor (prints the otpauth:// URI for an "
                                      "authenticator app)")
    p.add_argument("action", choices=["add", "profile", "remove", "list", "unlock", "second-factor"],
                   help="what to do with the account")
    p.add_argument("username", nargs="?", default="", help="the login (lower case letters, digits, . _ -)")
    p.add_argument("--role", choices=["admin", "agent"], default="agent",
                   help="add: admins also manage accounts and phases")
    p.add_argument("--name", help='the display name customers see ("Sam Rivera"); without one they read '
                                  '"a member of our support team", never the login')
    p.add_argument("--avatar", metavar="URL", help="an http(s) image URL shown beside the agent's replies")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--off", action="store_true", help="second-factor: remove the account's authenticator")
    p.set_defaults(func=cmd_agents)

    p = sub.add_parser("privacy", help="export or erase everything held about one customer")
    p.add_argument("action", choices=["export", "erase"], help="print everything held, or delete it")
    p.add_argument("customer", help="the customer's id in their channel: email address, Slack user id, visitor id")
    p.set_defaults(func=cmd_privacy)

    p = sub.add_parser("eval", help="evaluate categorization, retrieval, grounded answers or recorded transcripts")
    p.add_argument("what", choices=["categorize", "retrieval", "reader", "answers", "transcripts"],
                   help="which evaluation; `supportbot eval WHAT --help` lists its options")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="the evaluation's own options")
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from service.logs import floor_libraries

    floor_libraries()
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
