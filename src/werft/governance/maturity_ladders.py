"""The five-star ladders of the MLOps maturity report: pure rules over counted evidence.

The report follows the maturity model of the Fraunhofer IAIS / KI.NRW study
"Machine Learning Operations (MLOps)" (2024, ch. 3.2): a five-star rating per
lifecycle phase (after Beck et al.) and for the data, judged on the structure
of organisation and processes, the standards and tooling used in the phase,
and the degree of automation reached in CI, CD and operation. The study calls
a team *arbeitsfähig* - able to build models, bring them into operation and
keep them there, with some steps still manual - from three stars on, and
finds teams above four stars to have a solid approach, a role model and a good
technical setup.

The study rates by interview; werft rates by what its store holds, so each
star is mapped to evidence werft can count:

- ★ begun: the phase's first artefact exists in werft;
- ★★ structured: the phase uses werft's standard records (params and metrics,
  signatures, passing gates, a release policy, a monitor ...);
- ★★★ able to work (*arbeitsfähig*): the phase works end to end with its
  neighbours - runs with their data, versions with lineage, gates that apply
  the use case's thresholds, approvals under the four-eyes rule, alerts that
  reach someone;
- ★★★★ governed and reproducible: roles and rules are in force, or the
  results can be rebuilt (code version, environment), or the ground truth
  and business KPIs come back;
- ★★★★★ standardised and automated: applied to every version, run by CI,
  rollback-ready, retrained on a trigger, linked from dataset to prediction.

Rungs count only in order: a phase has as many stars as rungs met from the
first one up, and its next step is the first rung not met.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from werft.governance.maturity_entities import (
    MAX_STARS,
    PHASE_TITLES,
    Evidence,
    NextStep,
    Phase,
    PhaseRating,
)


@dataclass(frozen=True)
class RetrainingEvidence:
    """Continuous training found for a use case: triggers that start training runs."""

    triggers: int = 0
    runs: int = 0
    description: str = "none found"


@dataclass(frozen=True)
class MaturityFacts:
    """What the store holds for one project, counted (every field defaults to nothing)."""

    project: str
    model: str | None = None  # the newest registered model, for the next steps' commands
    version: int | None = None  # its newest version
    deployment: str | None = None  # a deployment serving one of the project's models
    unlinked: tuple[str, int] | None = None  # the newest version without dataset lineage
    ungated: tuple[str, int] | None = None  # the newest version without a gate report
    # requirements
    use_case: bool = False
    kpis: int = 0
    acceptance: int = 0
    approvers: int = 0
    approval_aliases: int = 0
    gated_on_synced_use_case: int = 0
    # exploration
    runs: int = 0
    runs_with_params_and_metrics: int = 0
    runs_with_inputs: int = 0
    runs_with_commit: int = 0
    runs_reproducible: int = 0
    # development
    models: int = 0
    versions: int = 0
    versions_with_signature: int = 0
    versions_with_lineage: int = 0
    versions_documented: int = 0
    # continuous integration
    gate_reports: int = 0
    gate_reports_passed: int = 0
    gate_reports_full: int = 0
    gate_reports_from_ci: int = 0
    versions_gated: int = 0
    # continuous deployment
    aliases: int = 0
    approvals_four_eyes: int = 0
    deployments: int = 0
    replicas: int = 0
    rollback_ready: int = 0
    rollbacks: int = 0
    # operation
    deployments_logging: int = 0
    monitors: int = 0
    alert_rules_with_channels: int = 0
    feedback_labels: int = 0
    kpi_values: int = 0
    retraining: RetrainingEvidence = field(default_factory=RetrainingEvidence)
    # data
    dataset_versions: int = 0
    datasets_profiled: int = 0
    run_inputs: int = 0
    gate_reports_with_data_checks: int = 0
    monitors_on_reference: int = 0
    lineage_end_to_end: int = 0


@dataclass(frozen=True)
class _Rung:
    criterion: str
    count: int
    met: bool
    step: NextStep
    of: int | None = None


def _step(action: str, command: str) -> NextStep:
    return NextStep(action=action, command=command)


def _some(criterion: str, count: int, action: str, command: str) -> _Rung:
    return _Rung(criterion, count, count > 0, _step(action, command))


def _rating(phase: Phase, rungs: list[_Rung]) -> PhaseRating:
    assert len(rungs) == MAX_STARS
    stars = 0
    for rung in rungs:
        if not rung.met:
            break
        stars += 1
    evidence = [
        Evidence(level=level, criterion=r.criterion, count=r.count, of=r.of, met=r.met)
        for level, r in enumerate(rungs, start=1)
    ]
    return PhaseRating(
        phase=phase,
        title=PHASE_TITLES[phase],
        stars=stars,
        evidence=evidence,
        next_step=rungs[stars].step if stars < MAX_STARS else None,
    )


def _names(f: MaturityFacts) -> tuple[str, str, str]:
    return (f.model or "MODEL", str(f.version) if f.version else "VERSION", f.deployment or "DEP")


def requirements(f: MaturityFacts) -> PhaseRating:
    """Requirements & design: the use case as code, its goals, thresholds and approvers."""
    model, version, _ = _names(f)
    sync = "werft usecase sync werft.yaml"
    return _rating(
        "requirements",
        [
            _some(
                "a use case is synced from werft.yaml (goal, owner, risk class)",
                int(f.use_case),
                "write the use case down as code and sync it",
                f"werft init --key {f.project} && {sync}",
            ),
            _some(
                "KPIs name the business metrics the use case must move",
                f.kpis,
                "add the business KPIs under kpis: in werft.yaml",
                sync,
            ),
            _some(
                "acceptance thresholds say when a model is good enough",
                f.acceptance,
                "add acceptance rules (e.g. roc_auc >= 0.85) to werft.yaml",
                sync,
            ),
            _Rung(
                "approvers and an approval policy decide releases",
                min(f.approvers, f.approval_aliases),
                f.approvers > 0 and f.approval_aliases > 0,
                _step(
                    "name approvers and require approval for production (policy:)",
                    sync,
                ),
            ),
            _some(
                "gate reports apply the synced werft.yaml (requirements are executable)",
                f.gated_on_synced_use_case,
                "run the gate against the werft.yaml that is synced",
                f"werft check {model} {version} --data holdout.parquet --use-case werft.yaml",
            ),
        ],
    )


def exploration(f: MaturityFacts) -> PhaseRating:
    """Exploration: experiment tracking, with params, metrics, data and code version."""
    return _rating(
        "exploration",
        [
            _some(
                "experiments are tracked as runs",
                f.runs,
                "track experiments as runs",
                f"with werft.start_run('{f.project}'): werft.log_param('model', 'baseline')",
            ),
            _some(
                "runs log params and metrics",
                f.runs_with_params_and_metrics,
                "log params and metrics in your training code",
                "werft.log_params({...}); werft.log_metric('auc', auc)",
            ),
            _some(
                "runs log their input datasets",
                f.runs_with_inputs,
                "log the training data in the run",
                "werft.log_dataset(df, 'customers')",
            ),
            _some(
                "runs record their code version (git commit)",
                f.runs_with_commit,
                "run training from a script inside a git repository",
                "git init && git add train.py && git commit -m train && python train.py",
            ),
            _some(
                "runs are reproducible: clean commit, datasets and environment",
                f.runs_reproducible,
                "commit every change before a run, so the commit is the code that ran",
                "git commit -am 'experiment' && python train.py",
            ),
        ],
    )


def development(f: MaturityFacts) -> PhaseRating:
    """Development: packaged models in the registry, with signatures, lineage and cards."""
    model, version, _ = _names(f)
    log_model = f"werft.log_model(model, input_example=X.head(), register='{f.model or f.project}')"
    return _rating(
        "development",
        [
            _some(
                "models are registered",
                f.models,
                "register the trained model as a version",
                log_model,
            ),
            _some(
                "versions carry a signature inferred from data",
                f.versions_with_signature,
                "log the model with werft.log_model and an input example",
                log_model,
            ),
            _some(
                "versions have dataset lineage (trained in a run that logged its data)",
                f.versions_with_lineage,
                "register versions from runs that log their datasets",
                f"werft models lineage {model} {version}",
            ),
            _some(
                "versions have a complete model card (code, environment, data, use case)",
                f.versions_documented,
                "train from a committed script under a synced use case, then read the card",
                f"werft card {model} {version}",
            ),
            _Rung(
                "every version has full lineage",
                f.versions_with_lineage,
                f.versions > 0 and f.versions_with_lineage == f.versions,
                _step(
                    "register versions only from tracked runs that log their datasets",
                    "werft models lineage {} {}".format(*(f.unlinked or (model, version))),
                ),
                of=f.versions,
            ),
        ],
    )


def continuous_integration(f: MaturityFacts) -> PhaseRating:
    """Continuous integration: quality gates on data and model, run by CI."""
    model, version, _ = _names(f)
    check = f"werft check {model} {version} --data holdout.parquet --use-case werft.yaml"
    return _rating(
        "continuous_integration",
        [
            _some(
                "gate reports exist (werft check)",
                f.gate_reports,
                "run the quality gate on a version",
                check,
            ),
            _some(
                "a version passed the gate",
                f.gate_reports_passed,
                "fix what the gate report names and check again",
                check,
            ),
            _some(
                "gates check the data and the use case's acceptance thresholds",
                f.gate_reports_full,
                "add acceptance rules to werft.yaml and check against it",
                check,
            ),
            _some(
                "the gate runs in CI (recorded by the CI job or a retraining pipeline)",
                f.gate_reports_from_ci,
                "let CI train and check on every change",
                f"werft ci gitlab --model {model}",
            ),
            _Rung(
                "every version went through the gate",
                f.versions_gated,
                f.versions > 0 and f.versions_gated == f.versions,
                _step(
                    "check every version in CI before it can be promoted",
                    "werft check {} {} --data holdout.parquet --use-case werft.yaml".format(
                        *(f.ungated or (model, version))
                    ),
                ),
                of=f.versions,
            ),
        ],
    )


def continuous_deployment(f: MaturityFacts) -> PhaseRating:
    """Continuous deployment: promotion by policy, four eyes, serving, rollback."""
    model, version, _ = _names(f)
    return _rating(
        "continuous_deployment",
        [
            _some(
                "a version is released behind an alias",
                f.aliases,
                "promote a version to an alias",
                f"werft promote {model} {version} --to staging",
            ),
            _some(
                "a release policy requires approval for an alias",
                f.approval_aliases,
                "set policy: {production: approval} in werft.yaml",
                "werft usecase sync werft.yaml",
            ),
            _some(
                "releases were approved under the four-eyes rule",
                f.approvals_four_eyes,
                "request the promotion, and let another person approve it",
                f"werft promote {model} {version} --to production  # then: werft approve ID",
            ),
            _some(
                "replicas serve the released alias",
                f.replicas,
                "serve the alias; replicas follow it and swap versions without downtime",
                f"werft serve {model}@production",
            ),
            _Rung(
                "rollback is ready: an alias has a previous version (or was rolled back)",
                f.rollback_ready + f.rollbacks,
                f.rollback_ready + f.rollbacks > 0,
                _step(
                    "release a second version; then one command returns to the first",
                    f"werft rollback {model} --alias production",
                ),
            ),
        ],
    )


def operation(f: MaturityFacts) -> PhaseRating:
    """Operation & monitoring: prediction log, monitors, alerts, feedback, retraining."""
    model, _, deployment = _names(f)
    return _rating(
        "operation",
        [
            _some(
                "deployments log their predictions",
                f.deployments_logging,
                "serve the model with werft serve: every prediction is logged",
                f"werft serve {model}@production",
            ),
            _some(
                "monitors watch the traffic on a schedule",
                f.monitors,
                "create a monitor for drift, performance and data quality",
                f"werft monitor create {deployment}-drift --deployment {deployment} --window 1h "
                '--schedule "*/15 * * * *"',
            ),
            _some(
                "alert rules notify a channel",
                f.alert_rules_with_channels,
                "add an alert rule that notifies a channel",
                "werft alerts channel create ops --webhook URL && werft alerts rule create "
                'drift --when "drift.share > 0.3" --notify ops',
            ),
            _Rung(
                "ground truth and business KPIs come back (feedback labels, KPI values)",
                min(f.feedback_labels, f.kpi_values),
                f.feedback_labels > 0 and f.kpi_values > 0,
                _step(
                    "send feedback labels to the serving endpoint and log the KPIs"
                    if f.feedback_labels == 0
                    else "log the business KPIs of the deployment",
                    f"POST /feedback on the replica; werft kpi log {deployment} KPI VALUE"
                    if f.feedback_labels == 0
                    else f"werft kpi log {deployment} KPI VALUE",
                ),
            ),
            _Rung(
                "continuous training: a schedule, alert or new data retrains the model",
                f.retraining.triggers,
                f.retraining.triggers > 0,
                _step(
                    "add triggers to the training section of werft.yaml (docs/pipelines.md)",
                    "werft validate werft.yaml && werft pipelines sync",
                ),
            ),
        ],
    )


def data(f: MaturityFacts) -> PhaseRating:
    """Data: versioned and profiled datasets, checked in gates, watched for drift, linked."""
    model, version, deployment = _names(f)
    return _rating(
        "data",
        [
            _some(
                "dataset versions are registered with schema and profile",
                f.datasets_profiled,
                "version the training data (content hash, schema, profile)",
                "werft.log_dataset(df, 'customers')",
            ),
            _some(
                "runs are linked to the dataset versions they used",
                f.run_inputs,
                "log the datasets inside the training run",
                f"with werft.start_run('{f.project}'): werft.log_dataset(df, 'customers')",
            ),
            _some(
                "gates check the evaluation data (schema, nulls, ranges, drift)",
                f.gate_reports_with_data_checks,
                "run the gate: its data checks compare the holdout with the training profile",
                f"werft check {model} {version} --data holdout.parquet",
            ),
            _some(
                "drift monitors compare live inputs with the training data",
                f.monitors_on_reference,
                "create a monitor; by default its reference is the training dataset",
                f"werft monitor create {deployment}-drift --deployment {deployment} --window 1h "
                '--schedule "*/15 * * * *"',
            ),
            _some(
                "lineage end to end: dataset, run, version, deployment, predictions",
                f.lineage_end_to_end,
                "serve a version trained on a logged dataset and send traffic",
                f"werft serve {model}@production",
            ),
        ],
    )


LADDERS = (
    requirements,
    exploration,
    development,
    continuous_integration,
    continuous_deployment,
    operation,
    data,
)


def rate(facts: MaturityFacts) -> list[PhaseRating]:
    """Every phase's rating, in lifecycle order, data last."""
    return [ladder(facts) for ladder in LADDERS]


def overall(ratings: list[PhaseRating]) -> float:
    """The mean of the phases' stars, rounded to half a star as the study reports it."""
    if not ratings:
        return 0.0
    mean = sum(r.stars for r in ratings) / len(ratings)
    return round(mean * 2) / 2
