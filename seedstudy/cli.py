"""The ``seedstudy`` command: run one task, reproduce a whole study, or rebuild the report."""
from __future__ import annotations

import argparse
import sys
from dataclasses import fields, replace
from typing import get_args, get_origin, get_type_hints

from .benchmark import data
from .benchmark.tasks import TASKS, get_task
from .study.presets import DEFAULT_PRESET, PRESETS, get_preset
from .training.config import FIELD_HELP, TrainConfig


def _training_options(p: argparse.ArgumentParser) -> None:
    """One option per ``TrainConfig`` field but the task (``--learning-rate`` for learning_rate), with
    the field's help; unset options keep the preset's value."""
    hints = get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        if f.name == "task":
            continue
        flag, kind = "--" + f.name.replace("_", "-"), hints[f.name]
        base = next((t for t in get_args(kind) if t is not type(None)), kind)
        if base is bool:
            p.add_argument(flag, action="store_true", default=None, help=FIELD_HELP[f.name])
        elif get_origin(base) is tuple:
            p.add_argument(flag, nargs="+", metavar="NAME", help=FIELD_HELP[f.name])
        else:
            p.add_argument(flag, type=base, help=FIELD_HELP[f.name])


def _training_overrides(args: argparse.Namespace) -> dict:
    """The training options given on the command line, by field name."""
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if f.name != "task"}
    return {k: v for k, v in given.items() if v is not None}  # TrainConfig makes lists tuples


def _data_dir(p: argparse.ArgumentParser) -> None:
    """The --data-dir option."""
    p.add_argument("--data-dir", help="local GLUE/SuperGLUE folder (default: $SEEDSTUDY_DATA_DIR, "
                                      "else the Hugging Face hub)")


def _common(p: argparse.ArgumentParser, *, data_dir: bool = True) -> None:
    """Options shared by the subcommands."""
    p.add_argument("--results-dir", help="where runs are stored (default: $SEEDSTUDY_RESULTS_DIR, "
                                         "else results/ in the project)")
    if data_dir:
        _data_dir(p)


def _seeds(p: argparse.ArgumentParser) -> None:
    """The --seeds option."""
    p.add_argument("--seeds", nargs="+", metavar="S",
                   help="training seeds (default: the preset's); each seeds head init, data order and "
                        "dropout, or give each source its own as i<init>-o<order>-d<dropout>")


def _mixing(p: argparse.ArgumentParser) -> None:
    """The --force and --allow-mixed-numerics options."""
    p.add_argument("--force", action="store_true", help="re-run and replace finished runs")
    p.add_argument("--allow-mixed-numerics", action="store_true",
                   help="let a study hold runs made under other numerics (precision, device, CPU "
                        "class, threads); refused by default, naming what differs")


def _preset(p: argparse.ArgumentParser, what: str) -> None:
    """The --preset option (default: the default study's)."""
    p.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS),
                   help=f"{what} (default: {DEFAULT_PRESET})")


def _executor(p: argparse.ArgumentParser) -> None:
    """Where notebook executions run."""
    p.add_argument("--executor", default="local", choices=("local", "ray"),
                   help="local: processes on this machine (default); ray: tasks on a Ray cluster")
    p.add_argument("--max-parallel", type=int, default=1,
                   help="local executor: executions side by side (the cores are split between them)")
    p.add_argument("--address", help="ray executor: cluster address, or 'auto' for the cluster this "
                                     "node joined (default: start a local one)")
    p.add_argument("--retries", type=int, default=0,
                   help="run an execution whose process died (killed, out of memory, node lost) "
                        "again up to this many times; its finished seeds are reused (default: 0)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with help for every option."""
    parser = argparse.ArgumentParser(
        prog="seedstudy", description="Measure how fine-tuning results vary with the random seed "
        "(macro: metric spread; micro: per-example consistency) on GLUE and SuperGLUE.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="fine-tune one task for all seeds (executes notebooks/finetune.ipynb)",
                         description="Fine-tune one task with every seed via papermill; finished "
                         "runs are skipped unless --force. The preset gives the defaults.")
    run.add_argument("task", help=f"task key or short name: {', '.join(sorted(TASKS))}")
    _preset(run, "preset whose per-task settings are the defaults")
    run.add_argument("--study", help="study name, the results sub-folder (default: the preset name)")
    _seeds(run)
    _training_options(run)
    _mixing(run)
    _common(run)

    rep = sub.add_parser("reproduce", help="run every task of a preset, then the paper notebook",
                         description="Run each task of the preset (one papermill execution per "
                         "task), skip tasks whose local data is missing with a note, then build "
                         "the tables and figures.")
    _preset(rep, "study preset")
    rep.add_argument("--study", help="study name (default: the preset name)")
    rep.add_argument("--tasks", nargs="+", metavar="TASK", help="only these tasks of the preset")
    _seeds(rep)
    _mixing(rep)
    rep.add_argument("--output-dir", help="where figures/ and paper/tables/ go (default: "
                                          "<results>/<study>/report; the committed ones: .)")
    rep.add_argument("--force-report", action="store_true",
                     help="replace tables and figures built from another study or configuration")
    _executor(rep)
    _common(rep)

    sweep = sub.add_parser("sweep", help="run a sweep: a spec file (YAML/TOML) or a preset name",
                           description="Run every (task, model) execution of a sweep; complete "
                           "runs are reused, interrupted ones redone; ends with a summary of "
                           "failed and skipped executions (exit 1 if any failed).")
    sweep.add_argument("spec", help=f"sweep spec file (.yaml/.yml/.toml) or preset: {', '.join(sorted(PRESETS))}")
    _executor(sweep)
    _mixing(sweep)
    _common(sweep)

    verify = sub.add_parser("verify", help="check every run's files against its completion record",
                            description="Report runs whose files changed or are missing, partial "
                            "runs, leftovers of interrupted writes, orphaned files, and runs a "
                            "sweep manifest lists but that do not exist. Exit 1 if any.")
    verify.add_argument("legacy_results_dir", nargs="?", metavar="DIR",
                        help="deprecated spelling of --results-dir DIR")
    verify.add_argument("--adopt-legacy", action="store_true",
                        help="first write completion records for runs stored before they existed")
    _common(verify, data_dir=False)

    report = sub.add_parser("report", help="rebuild tables and figures from finished runs "
                            "(executes notebooks/paper.ipynb)")
    report.add_argument("--study", default=DEFAULT_PRESET,
                        help=f"study to report (default: {DEFAULT_PRESET}, the default study)")
    report.add_argument("--output-dir", help="where figures/ and paper/tables/ go (default: "
                                             "<results>/<study>/report; the committed ones: .)")
    report.add_argument("--force", action="store_true",
                        help="replace tables and figures built from another study or configuration")
    report.add_argument("--compare-study", default="", metavar="STUDY",
                        help="a second study (e.g. a grid variant 'lr/learning_rate=5e-05') to compare "
                             "with task by task across seeds")
    report.add_argument("--numerics-study", default="", metavar="STUDY",
                        help="the same seeds run under other numerics (another precision or CPU "
                             "class): adds the numeric noise floor beside the seed spread")
    _common(report, data_dir=False)

    seeds = sub.add_parser("seeds", help="how many seeds each task needs, from a study's own seed spread",
                           description="Per task: the seeds at which the mean's 95 %% interval would be "
                           "within --half-width, CON within --con-half-width over new seeds, and the "
                           "seeds per side to detect --difference with 80 %% power (t tests at 5 %%); "
                           "all in points, from the spread the study's seeds showed.")
    seeds.add_argument("--study", default=DEFAULT_PRESET, help=f"study to plan from (default: {DEFAULT_PRESET})")
    seeds.add_argument("--half-width", type=float,
                       help="mean: 95 %% interval half-width, points (default: the report's, report.planning)")
    seeds.add_argument("--con-half-width", type=float,
                       help="CON (CON-PEAR): 95 %% half-width over new seeds, points (default: the report's)")
    seeds.add_argument("--difference", type=float, help="difference to detect, points (default: the report's)")
    seeds.add_argument("--correlation", type=float, default=0.0,
                       help="paired test: correlation of the two configurations' scores across seeds, "
                            "-1 <= r < 1 (default 0: unknown with one configuration run)")
    _common(seeds, data_dir=False)

    imp = sub.add_parser("import", help="store prediction files made elsewhere (a table per run, "
                         "lm-evaluation-harness samples, Trainer.predict arrays) as runs of a study",
                         description="One file per seed. Every file is checked (same examples, one "
                         "prediction per id, the same gold labels, predictions within the labels, "
                         "probabilities summing to one) before anything is written; then each becomes "
                         "a run of --study that report, verify and seeds read like a trained one.")
    imp.add_argument("files", nargs="+", metavar="FILE",
                     help="one run's predictions per file: .csv/.tsv/.jsonl/.parquet table, harness "
                          "samples_<task>_<time>.jsonl, or .npy/.npz from Trainer.predict")
    imp.add_argument("--study", required=True, help="study to store the runs in (a study of their own)")
    imp.add_argument("--model", required=True, help="name of the model the runs fine-tuned or evaluated")
    imp.add_argument("--task", help="task key (glue-rte) or short name; any other name is a classification "
                                    "task defined by the files' labels (default for harness files: its task)")
    imp.add_argument("--format", choices=("table", "harness", "trainer"),
                     help="how to read the files (default: by name: .npy/.npz trainer, samples_*.jsonl harness, "
                          "else table)")
    imp.add_argument("--seeds", nargs="+", metavar="S", help="one seed per file (default: the seed the "
                     "harness recorded, else the seed each file's path names: seed3, seed=3, seed_3, "
                     "or its only number)")
    for role, default in (("id", "id"), ("pred", "pred"), ("label", "label"), ("group", "group"),
                          ("split", "split")):
        imp.add_argument(f"--{role}-column", default=default, help=f"table column of the {role} (default: {default})")
    imp.add_argument("--prob-prefix", default="prob_",
                     help="table columns <prefix><class> hold class probabilities (default: prob_)")
    imp.add_argument("--ids", help="Trainer arrays without ids: a file of example ids, one per row (.npy or text)")
    imp.add_argument("--harness-filter", help="harness samples logged under several filters: the one to use")
    imp.add_argument("--split", help="the evaluation split the files predict (MNLI: validation_matched or "
                                     "validation_mismatched), when they have no split column")
    imp.add_argument("--precision", help="numeric precision the runs used, if known (recorded)")
    imp.add_argument("--tool", help="what made the files (default: by format)")
    imp.add_argument("--description", default="", help="a sentence on how the runs were made (recorded)")
    imp.add_argument("--param", nargs="+", default=[], metavar="KEY=VALUE",
                     help="training settings of the runs (learning_rate=2e-5 ...), recorded in the config")
    imp.add_argument("--baseline", type=float,
                     help="value the majority baseline predicts (default: the training split's majority "
                          "class or mean when readable, else the evaluation labels')")
    imp.add_argument("--n-train", type=int, help="training examples the runs saw, if known (recorded; the "
                                                 "size table relates stability to it)")
    imp.add_argument("--force", action="store_true", help="replace other runs at the same seeds; accept two files "
                     "with the same bytes as two seeds")
    _common(imp)

    paper = sub.add_parser("paper", help="typeset paper/main.tex (tables and figures included) to main.pdf",
                           description="Run latexmk on the paper's LaTeX source; without a TeX "
                           "installation, say how to get one.")
    paper.add_argument("--paper-dir", help="folder holding main.tex (default: paper/ in the project)")

    doctor = sub.add_parser("doctor", help="the machine as the study sees it: device, CPU class, "
                            "precision auto picks and why, matmul speed, expected study time",
                            description="Probe this machine (a few seconds): what torch reports, "
                            "the precision 'auto' resolves to and why, fp32 and bf16 matmul "
                            "throughput, and the expected wall time of a preset's study here.")
    _preset(doctor, "study whose wall time to estimate")
    _data_dir(doctor)

    tasks = sub.add_parser("tasks", help="list the tasks and whether their local files are present")
    _data_dir(tasks)
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    """seedstudy run."""
    from .study.sweep import run_task

    preset = get_preset(args.preset)
    task = get_task(args.task)
    listed = [c for c in preset.configs if c.task == task.key]
    if len(listed) > 1:  # several models for the task (paper preset): --model picks one
        config = preset.config_for(task.key, args.model)
    elif listed:
        config = listed[0]
    else:
        config = replace(preset.configs[0], task=task.key)
        print(f"note: {task.key} is not in preset {preset.name!r}; starting from its "
              f"{preset.configs[0].task} settings (override with the options)", file=sys.stderr)
    config = replace(config, **_training_overrides(args))
    out = run_task(config, args.seeds or list(preset.seeds), study=args.study or preset.name,
                   results_dir=args.results_dir, data_dir=args.data_dir, force=args.force,
                   allow_mixed_numerics=args.allow_mixed_numerics, watch=True)
    print(f"executed notebook: {out}")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    """seedstudy reproduce: the preset's sweep, then the paper notebook."""
    from .study.spec import from_preset
    from .study.sweep import run_report

    spec = from_preset(args.preset, study=args.study, seeds=args.seeds, tasks=args.tasks)
    outcomes, code = _sweep(spec, args)
    if not any(o.status == "done" for o in outcomes):
        print("no task ran: nothing to report", file=sys.stderr)
        return 1
    out = run_report(study=spec.name, results_dir=args.results_dir, output_dir=args.output_dir,
                     force=args.force_report)
    print(f"report notebook: {out[0]}\nreport page (opens offline): {out[1]}")
    return code


def _cmd_sweep(args: argparse.Namespace) -> int:
    """seedstudy sweep."""
    from .study.spec import resolve_spec

    return _sweep(resolve_spec(args.spec), args)[1]


def _sweep(spec, args: argparse.Namespace):
    """Run a sweep with the command's executor options; print its summary; (outcomes, exit code)."""
    from .study.sweep import run_sweep, summary

    outcomes = run_sweep(spec, executor=args.executor, max_parallel=args.max_parallel,
                         address=args.address, results_dir=args.results_dir,
                         data_dir=args.data_dir, force=args.force,
                         allow_mixed_numerics=args.allow_mixed_numerics, retries=args.retries)
    for line in summary(outcomes):
        print(line)
    return outcomes, 1 if any(o.status == "failed" for o in outcomes) else 0


def _cmd_verify(args: argparse.Namespace) -> int:
    """seedstudy verify."""
    from .store.integrity import adopt_legacy, verify
    from .store.runs import resolve_results_dir

    if args.legacy_results_dir:
        if args.results_dir:
            raise ValueError("give the results folder once: --results-dir DIR (the positional DIR is "
                             "its deprecated spelling)")
        print("seedstudy verify: DIR is deprecated, use --results-dir DIR", file=sys.stderr)
    root = resolve_results_dir(args.results_dir or args.legacy_results_dir)
    if args.adopt_legacy:
        for folder in adopt_legacy(root):
            print(f"adopted (completion record written): {folder}")
    checked, problems = verify(root)
    for problem in problems:
        print(problem)
    print(f"verify: {checked} runs checked, {len(problems)} problem(s) under {root}")
    return 1 if problems else 0


def _cmd_report(args: argparse.Namespace) -> int:
    """seedstudy report."""
    from .study.sweep import run_report

    out = run_report(study=args.study, results_dir=args.results_dir, output_dir=args.output_dir,
                     compare_study=args.compare_study, numerics_study=args.numerics_study, force=args.force)
    print(f"report notebook: {out[0]}\nreport page (opens offline): {out[1]}")
    return 0


def _cmd_seeds(args: argparse.Namespace) -> int:
    """seedstudy seeds."""
    from .report.planning import format_seeds_needed, seeds_needed
    from .store.runs import find_runs, resolve_results_dir

    if not -1 <= args.correlation < 1:
        raise ValueError(f"--correlation {args.correlation:g}: expected -1 <= r < 1")
    root = resolve_results_dir(args.results_dir)
    runs = find_runs(root, args.study)
    if not runs:
        raise FileNotFoundError(f"no runs of study {args.study!r} under {root}")
    asked = {k: v for k, v in (("half_width", args.half_width), ("con_half_width", args.con_half_width),
                                ("difference", args.difference)) if v is not None}
    table = seeds_needed(runs, correlation=args.correlation, **asked)
    shown = format_seeds_needed(table)
    print(f"seeds needed, study {args.study!r} ({len(runs)} runs; points; plug-in spread, normal scores)")
    print(shown.to_markdown(index=False))
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    """seedstudy import."""
    import json
    from pathlib import Path

    from .store.formats import Columns
    from .store.imports import import_runs

    params = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--param {item!r}: expected KEY=VALUE")
        try:
            params[key] = json.loads(value)  # numbers and true/false as such
        except json.JSONDecodeError:
            params[key] = value
    columns = Columns(args.id_column, args.pred_column, args.label_column, args.group_column, args.split_column,
                      args.prob_prefix)
    done = import_runs([Path(f) for f in args.files], study=args.study, model=args.model, task=args.task,
                       kind=args.format, columns=columns, seeds=args.seeds,
                       ids=Path(args.ids) if args.ids else None, harness_filter=args.harness_filter,
                       split=args.split, precision=args.precision, tool=args.tool,
                       description=args.description, params=params, baseline=args.baseline, n_train=args.n_train,
                       results_dir=args.results_dir, data_dir=args.data_dir, force=args.force)
    print(f"import: {len(done)} runs of study {args.study!r}; next: seedstudy report --study {args.study}")
    return 0


def _cmd_paper(args: argparse.Namespace) -> int:
    """seedstudy paper."""
    from .report.pdf import build_pdf

    print(f"paper: {build_pdf(args.paper_dir)}")
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    """seedstudy doctor."""
    from .study.doctor import diagnose

    for line in diagnose(get_preset(args.preset), data.resolve_data_dir(args.data_dir)):
        print(line, flush=True)
    return 0


def _cmd_tasks(args: argparse.Namespace) -> int:
    """seedstudy tasks."""
    local = data.resolve_data_dir(args.data_dir)
    for key, task in sorted(TASKS.items()):
        missing = data.missing_local_splits(task, local)
        where = "hub" if local is None else ("local" if not missing else
                                             "missing " + ", ".join(p.name for p in missing))
        shape = "entity ranking" if task.ranks_entities else task.problem_type
        role = f"diagnostic, predicted by {task.host}" if task.host else (
            f"+ diagnostics {', '.join(task.diagnostics)}" if task.diagnostics else "")
        metric_list = ", ".join(m + ("*" if m == task.lead_metric else "") for m in task.metrics)
        print(f"{key:18} {shape:15} {metric_list:26} {where:30} {role}".rstrip())
    print("* lead metric (the tables' first column for the task)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, dispatch, and turn expected errors into one line and exit code 2."""
    args = build_parser().parse_args(argv)
    handlers = {"run": _cmd_run, "reproduce": _cmd_reproduce, "sweep": _cmd_sweep,
                "verify": _cmd_verify, "report": _cmd_report, "paper": _cmd_paper, "tasks": _cmd_tasks,
                "seeds": _cmd_seeds, "import": _cmd_import,
                "doctor": _cmd_doctor}
    try:
        return handlers[args.command](args)
    except (ValueError, FileNotFoundError, PermissionError, RuntimeError) as err:
        print(f"seedstudy {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
