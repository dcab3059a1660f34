"""`peerbot screening …`: measure, explain and retrain crisis screening.

``eval`` and ``explain`` call ``flows.screening.screen``, the very decision the running
bot makes, with the model the bot's settings name.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.settings import Settings
from flows import screening
from flows.screening_corpus import (
    KIND_OF,
    CorpusError,
    Example,
    Report,
    corpus,
    evaluate,
    read_jsonl,
    training_set,
)

MAX_FPR = 0.08  # a retrained model with more false alerts than this in a language is refused


def add_commands(commands: Any) -> None:
    parser = commands.add_parser("screening", help="measure, explain and retrain crisis screening")
    actions = parser.add_subparsers(required=True, metavar="ACTION")

    ev = actions.add_parser(
        "eval",
        help='recall and false alerts on lines {"lang": "en", "text": "…", "alert": true}',
    )
    ev.add_argument(
        "file",
        type=Path,
        nargs="+",
        help='.jsonl files, measured together; a line may give a "kind"',
    )
    ev.add_argument("--quiet", action="store_true", help="figures only, not each miss")
    ev.add_argument(
        "--detector",
        choices=("both", "lexicon", "model"),
        default="both",
        help="both (the default) is the running bot's decision; the others measure one alone",
    )
    ev.set_defaults(handler=_eval)

    ex = actions.add_parser("explain", help="how a message is read, and what each detector says")
    ex.add_argument("language", help="the writer's language, such as en, es or de")
    ex.add_argument("text", nargs="+", help="one or more messages")
    ex.set_defaults(handler=_explain)

    re = actions.add_parser(
        "retrain",
        help="train a new model on the corpus and supervisors' labels; install it only if "
        "no language's held-out recall drops",
    )
    re.add_argument("--dry-run", action="store_true", help="measure, but install nothing")
    re.add_argument("--no-database", action="store_true", help="the corpus alone")
    re.set_defaults(handler=_retrain)

    keys = actions.add_parser(
        "keys",
        help="after editing a lexicon: write the gate keys the bot loads instead of "
        "computing them at start (locales/screening_keys.json)",
    )
    keys.set_defaults(handler=_keys)


def _eval(settings: Settings, args: argparse.Namespace) -> int:
    examples = []
    try:
        for path in args.file:
            examples += read_jsonl(path)
    except FileNotFoundError as exc:
        print(f"error: no such file: {exc.filename}", file=sys.stderr)
        return 2
    except (CorpusError, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _use_model(settings)
    report = evaluate(examples, _DETECTORS[args.detector])
    for line in report.lines(show_examples=not args.quiet):
        print(line)
    return 0


def _explain(settings: Settings, args: argparse.Namespace) -> int:
    _use_model(settings)
    for text in args.text:
        for line in screening.explain(text, args.language):
            print(line)
    return 0


def _keys(settings: Settings, args: argparse.Namespace) -> int:
    from flows import screening_keys

    count = screening_keys.write(screening.lexicon_patterns())
    print(f"wrote the gate keys of {count} patterns to {screening_keys.KEYS_PATH}")
    return 0


def _use_model(settings: Settings) -> None:
    problem = screening.use_model(settings.screening_model)
    if problem:
        print(f"warning: screening on the lexicon alone: {problem}", file=sys.stderr)


def _bot_alerts(example: Example) -> bool:
    return bool(screening.screen(example.text, example.lang))


def _lexicon_alerts(example: Example) -> bool:
    return bool(screening.lexicon_hits(screening.undisguised(example.text), example.lang))


def _model_alerts(example: Example) -> bool:
    verdict = screening.model_verdict(screening.undisguised(example.text), example.lang)
    return verdict is not None and verdict.alert


_DETECTORS = {"both": _bot_alerts, "lexicon": _lexicon_alerts, "model": _model_alerts}


def _retrain(settings: Settings, args: argparse.Namespace) -> int:
    from flows.screening_training import TrainingUnavailable, fit, write_model

    examples = training_set()
    if not args.no_database:
        examples += _supervisors_labels(settings)
    heldout = corpus("heldout")
    print(f"training on {len(examples)} examples; held out: {len(heldout)}")
    try:
        data = fit(examples)
    except TrainingUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    before = _measure(settings.screening_model, heldout)
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / "candidate.json.gz"
        write_model(data, candidate)
        after = _measure(candidate, heldout)
    data["about"]["heldout"] = _figures(after)
    print(_comparison(before, after))
    refusal = _refusal(before, after)
    if refusal:
        print(f"refused: {refusal}; the installed model is unchanged", file=sys.stderr)
        return 1
    if args.dry_run:
        print("dry run: nothing installed")
        return 0
    settings.screening_model.parent.mkdir(parents=True, exist_ok=True)
    write_model(data, settings.screening_model)
    print(f"installed {settings.screening_model}; restart the bot to use it")
    return 0


def _measure(model: Path, heldout: list[Example]) -> Report:
    screening.use_model(model)
    return evaluate(heldout, _bot_alerts)


def _figures(report: Report) -> dict[str, dict[str, float]]:
    return {
        lang: {"recall": round(t.recall, 3), "fpr": round(t.fpr, 3)}
        for lang, t in sorted(report.languages.items())
    }


def _comparison(before: Report, after: Report) -> str:
    lines = ["held-out   recall before → after    false alerts before → after"]
    for lang in sorted(after.languages):
        b, a = before.languages.get(lang), after.languages[lang]
        lines.append(
            f"{lang:<10} {b.recall if b else float('nan'):.3f} → {a.recall:.3f}"
            f"            {b.fpr if b else float('nan'):.3f} → {a.fpr:.3f}"
        )
    return "\n".join(lines)


def _refusal(before: Report, after: Report) -> str | None:
    for lang, a in sorted(after.languages.items()):
        b = before.languages.get(lang)
        if b is not None and b.crises and a.recall < b.recall:
            return f"held-out recall in {lang} would drop from {b.recall:.3f} to {a.recall:.3f}"
        if a.calm and a.fpr > MAX_FPR:
            return f"held-out false alerts in {lang} would be {a.fpr:.3f} (at most {MAX_FPR})"
    return None


def _supervisors_labels(settings: Settings) -> list[Example]:
    """False alarms, confirmed alerts and /missed messages, as labelled examples."""
    from bot.cli import _with_session
    from storage import alerts

    async def read(session: Any) -> list[Example]:
        return [_as_example(row) for row in await alerts.labelled(session, None)]

    labels = _with_session(settings, read)
    print(f"supervisors' labels: {len(labels)}")
    return labels


def _as_example(row: Any) -> Example:
    if row.label == "false_alarm":
        return Example(lang=row.language, text=row.text, alert=False)
    kind = KIND_OF.get(row.category or "suicide", "active_ideation")
    return Example(lang=row.language, text=row.text, alert=True, kind=kind)
