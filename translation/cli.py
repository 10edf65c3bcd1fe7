"""`babelroom languages list | install <model dir, archive, Hub name, .argosmodel or pair> | remove <pair or name>`.

The chat CLI calls `add_languages_parser(subparsers)` and, for a parsed
`languages` command, `run_languages(args, settings)`. `python -m translation.cli`
runs the same commands standalone (packages dir from
BABELROOM_TRANSLATION_PACKAGES_DIR or --packages-dir).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from translation.apertium import DEBIAN_PACKAGES, debian_package, discover, to_code
from translation.ct2 import install_from_hub, install_model, is_hub_name, list_models, remove_model
from translation.engines import ENGINE_QUALITY
from translation.evaluate import run_eval
from translation.languages import language_name
from translation.packages import PackageError, install_file, install_pair, list_packages, parse_pair, remove
from translation.plan import describe, plan
from translation.routing import Routes
from translation.settings import TranslationSettings


def add_languages_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the `languages` command; its handler is stored as `args.languages_handler`."""
    parser = subparsers.add_parser(
        "languages",
        help="list, install or remove translation packages",
        description="Manage the CTranslate2 models in [translation] models_dir and the Argos "
        "packages in [translation] packages_dir.",
    )
    parser.add_argument(
        "--packages-dir", default=None, help="Argos package directory (default: [translation] packages_dir)"
    )
    parser.add_argument(
        "--models-dir", default=None, help="CTranslate2 model directory (default: [translation] models_dir)"
    )
    sub = parser.add_subparsers(dest="languages_command", metavar="COMMAND")
    sub.required = True
    sub.add_parser("list", help="installed packages and the pairs they serve")
    evaluation = sub.add_parser(
        "eval", help="score a pair on a parallel file (TSV: source<TAB>reference) with chrF, and its speed"
    )
    evaluation.add_argument("pair", help="a pair such as en-es (a route of two hops is scored as served)")
    evaluation.add_argument(
        "file",
        help="a TSV file; a first line naming the languages (en<TAB>es) picks "
        "the columns, so one file scores both directions",
    )
    plan_parser = sub.add_parser(
        "plan", help="what [translation] event_languages need: pairs, engine, route, download size, memory"
    )
    plan_parser.add_argument(
        "--languages",
        default=None,
        help="comma-separated codes instead of [translation] event_languages (en,zh,de,fi,pl)",
    )
    install = sub.add_parser(
        "install",
        help="install a CTranslate2 model (directory, archive, or Hugging Face Hub name) "
        "or an Argos package (.argosmodel file, or a pair such as de-en from the Argos index)",
    )
    install.add_argument(
        "package",
        help="a CTranslate2 model directory or archive (.zip, .tar.gz), a Hub "
        "name such as quickmt/quickmt-zh-en[@REVISION], an .argosmodel "
        "file, or a pair such as de-en",
    )
    install.add_argument(
        "--pair", default=None, help="the pair a CTranslate2 model serves (default: from its name, e.g. quickmt-zh-en)"
    )
    install.add_argument("--no-progress", action="store_true", help="no download progress bar")
    rm = sub.add_parser("remove", help="remove a package")
    rm.add_argument("package", help="a pair such as de-en, or a package folder name")
    parser.set_defaults(languages_handler=run_languages)
    return parser


def run_languages(
    args: argparse.Namespace, settings: TranslationSettings, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Run a parsed `languages` command; returns the process exit code."""
    packages_dir = args.packages_dir or settings.packages_dir
    if args.models_dir:
        settings = dataclasses.replace(settings, models_dir=args.models_dir)
    try:
        if args.languages_command == "list":
            _print_list(packages_dir, settings, out)
        elif args.languages_command == "eval":
            settings = dataclasses.replace(settings, packages_dir=packages_dir)
            print(run_eval(settings, args.pair, args.file).describe(), file=out)
        elif args.languages_command == "plan":
            settings = dataclasses.replace(settings, packages_dir=packages_dir)
            codes = tuple(c.strip() for c in args.languages.split(",") if c.strip()) if args.languages else None
            for line in describe(plan(settings, codes), settings):
                print(line, file=out)
        elif args.languages_command == "install":
            _install(args, packages_dir, settings, out)
        elif args.languages_command == "remove":
            removed = [(m.pair, m.name) for m in remove_model(args.package, settings.models_dir)]
            if not removed or Path(packages_dir).is_dir():
                try:
                    removed += [(p.pair, p.name) for p in remove(args.package, packages_dir)]
                except PackageError:
                    if not removed:
                        raise
            for pair, name in removed:
                print(f"removed {pair} ({name})", file=out)
        return 0
    except PackageError as exc:
        print(f"error: {exc}", file=err)
        return 1


def _install(args: argparse.Namespace, packages_dir: str, settings: TranslationSettings, out: TextIO) -> None:
    target: str = args.package
    progress = not args.no_progress
    model_pair = parse_pair(args.pair) if args.pair else None
    if args.pair and model_pair is None:
        raise PackageError(f"--pair {args.pair!r}: expected a pair such as zh-en")
    path = Path(target)
    if path.is_dir() or (path.is_file() and not target.endswith(".argosmodel")):
        model = install_model(path, settings.models_dir, pair=model_pair)
    elif is_hub_name(target):
        model = install_from_hub(target, settings.models_dir, settings, pair=model_pair, progress=progress)
    else:
        pair = parse_pair(target)
        if target.endswith(".argosmodel") or path.exists() or pair is None:
            info = install_file(target, packages_dir)
        else:
            info = install_pair(*pair, packages_dir, progress=progress, index_url=settings.index_url or None)
        print(f"installed {info.pair} ({info.name}) into {packages_dir}", file=out)
        print("restart the server to serve it", file=out)
        return
    print(
        f"installed {model.pair} ({model.name}, CTranslate2, {model.layout} layout, revision "
        f"{model.version}) into {settings.models_dir}",
        file=out,
    )
    print("restart the server to serve it", file=out)


def _print_list(packages_dir: str, settings: TranslationSettings, out: TextIO) -> None:
    installed = list_packages(packages_dir)
    models = list_models(settings.models_dir)
    print(f"engines by preference: {', '.join(settings.engines)}", file=out)
    if models:
        print(f"ct2: models in {settings.models_dir}:", file=out)
        for model in models:
            print(
                f"  {model.pair:<8} {language_name(model.from_code)} -> {language_name(model.to_code)}"
                f"  {model.name} ({model.source}@{model.version[:12]})",
                file=out,
            )
    else:
        print(f"ct2: no models in {settings.models_dir}", file=out)
        print("  install one: babelroom languages install quickmt/quickmt-zh-en  (or a model DIR)", file=out)
    if not installed:
        print(f"argos: no packages in {packages_dir}", file=out)
        print("  install one: babelroom languages install de-en  (or FILE.argosmodel)", file=out)
    else:
        print(f"argos: packages in {packages_dir}:", file=out)
        for info in installed:
            print(
                f"  {info.pair:<8} {language_name(info.from_code)} -> {language_name(info.to_code)}"
                f"  v{info.version or '?'}  {info.name}",
                file=out,
            )
    apertium = discover(Path(settings.apertium_modes_dir))
    if apertium:
        print(f"apertium: pairs in {settings.apertium_modes_dir}:", file=out)
        for pair in apertium:
            print(
                f"  {pair.source}-{pair.target:<5} {language_name(pair.source)} -> "
                f"{language_name(pair.target)}  (mode {pair.mode})",
                file=out,
            )
    else:
        print(f"apertium: no pairs in {settings.apertium_modes_dir}", file=out)
    have = {(p.source, p.target) for p in apertium}
    missing: dict[str, str] = {}
    for name in DEBIAN_PACKAGES:
        a, b = sorted(to_code(code) for code in name.split("-")[1:])
        if "en" in (a, b) and ((a, b) not in have or (b, a) not in have):
            missing[f"{a}<->{b}"] = debian_package(a, b) or name
    missing_lines = [f"{pair}: {name}" for pair, name in sorted(missing.items())]
    if missing_lines:
        print("  more pairs with English (apt-get install apertium NAME): " + ", ".join(missing_lines), file=out)
    scores: dict[tuple[str, str], float] = {}
    for engine in settings.engines:
        served = (
            {(m.from_code, m.to_code) for m in models}
            if engine == "ct2"
            else {(p.from_code, p.to_code) for p in installed}
            if engine == "argos"
            else have
        )
        for served_pair in served:
            scores.setdefault(served_pair, ENGINE_QUALITY.get(engine, 0.5))
    routes = Routes(scores)
    chained = [line for line in routes.describe() if "via" in line]
    if chained:
        print("in two hops: " + ", ".join(chained), file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m translation.cli")
    add_languages_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    settings = TranslationSettings()
    env_dir = os.environ.get("BABELROOM_TRANSLATION_PACKAGES_DIR")
    if env_dir:
        settings = dataclasses.replace(settings, packages_dir=env_dir)
    handler: Callable[..., int] = args.languages_handler  # set by add_languages_parser
    return handler(args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
