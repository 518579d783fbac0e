"""Build werft's domain services once, from settings, for every edge to share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from werft.config import Settings
from werft.deploy.deployments import DeploymentService
from werft.gates.service import GateService
from werft.governance.access import AccessControl
from werft.governance.approvals import PromotionService, authenticated_admin
from werft.governance.audit import AuditLog
from werft.governance.card import ModelCards
from werft.governance.maturity import MaturityService
from werft.governance.usecases.service import UseCaseService
from werft.governance.users import UserService
from werft.monitoring.alerts import AlertService
from werft.monitoring.kpis import KpiService
from werft.monitoring.monitors import MonitorService
from werft.monitoring.sources import WindowSources
from werft.pipelines.service import PipelineService
from werft.registry.service import ModelRegistry
from werft.store.artifacts import ArtifactStore
from werft.store.db import Database
from werft.tracking._rows import Clock, utcnow
from werft.tracking.artifacts import ArtifactService
from werft.tracking.dataset_versions import DatasetService
from werft.tracking.gc import GarbageCollector
from werft.tracking.projects import ProjectService
from werft.tracking.runs import RunService


@dataclass(frozen=True)
class Services:
    """The domain services over one metadata store and one artifact store."""

    db: Database
    store: ArtifactStore
    projects: ProjectService
    use_cases: UseCaseService
    runs: RunService
    artifacts: ArtifactService
    datasets: DatasetService
    gc: GarbageCollector
    registry: ModelRegistry
    gates: GateService
    deployments: DeploymentService
    kpis: KpiService
    monitors: MonitorService
    alerts: AlertService
    audit: AuditLog
    users: UserService
    access: AccessControl
    promotions: PromotionService
    cards: ModelCards
    pipelines: PipelineService
    maturity: MaturityService

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()


def storage_options(settings: Settings) -> dict[str, Any]:
    """fsspec options for the artifact store (the S3 endpoint, when set)."""
    if not settings.effective_artifacts_url.startswith("s3://"):
        return {}
    # Fail in seconds, not minutes, when the endpoint does not answer: s3fs
    # retries on top of botocore's own retries otherwise.
    options: dict[str, Any] = {
        "config_kwargs": {"connect_timeout": 10, "retries": {"max_attempts": 3}}
    }
    if settings.s3_endpoint_url:
        options["client_kwargs"] = {"endpoint_url": settings.s3_endpoint_url}
    return options


def build_services(settings: Settings, *, clock: Clock = utcnow, migrate: bool = True) -> Services:
    """Connect the stores and build the services; applies pending migrations."""
    db = Database(settings.effective_database_url)
    if migrate:
        db.ensure_schema()
    store = ArtifactStore(
        settings.effective_artifacts_url,
        storage_options=storage_options(settings),
        spool_dir=settings.home / "tmp",
    )
    registry = ModelRegistry(db, clock=clock)
    deployments = DeploymentService(db, clock=clock)
    datasets = DatasetService(db, store, clock=clock)
    kpis = KpiService(db, clock=clock)
    sources = WindowSources(
        db,
        store,
        deployments=deployments,
        registry=registry,
        datasets=datasets,
        cache_dir=settings.home / "cache" / "segments",
    )
    monitors = MonitorService(db, sources=sources, deployments=deployments, kpis=kpis, clock=clock)
    alerts = AlertService(db, clock=clock)
    monitors.use_alerts(alerts)
    return Services(
        db=db,
        store=store,
        projects=ProjectService(db, clock=clock),
        use_cases=UseCaseService(db, clock=clock),
        runs=RunService(db, clock=clock),
        artifacts=ArtifactService(db, store, clock=clock),
        datasets=datasets,
        gc=GarbageCollector(
            db, store, retention=timedelta(days=settings.delete_retention_days), clock=clock
        ),
        registry=registry,
        deployments=deployments,
        gates=GateService(db, clock=clock),
        kpis=kpis,
        monitors=monitors,
        alerts=alerts,
        audit=AuditLog(db, clock=clock),
        users=UserService(db, clock=clock),
        access=AccessControl(db),
        promotions=PromotionService(
            db, registry=registry, clock=clock, is_admin=authenticated_admin
        ),
        cards=ModelCards(db, registry=registry, clock=clock),
        pipelines=PipelineService(db, clock=clock),
        maturity=MaturityService(db, clock=clock),
    )
