"""Rollback: return an alias to the version it pointed at before."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from werft.errors import ConflictError, NotFoundError
from werft.governance import audit
from werft.governance.actor import current_actor
from werft.governance.approvals._base import PromotionBase
from werft.governance.approvals._rows import CLOSED, version_entity
from werft.governance.policy import project_key
from werft.registry._rows import get_model_row
from werft.registry.aliases import current_version, deployment_stack, move_alias
from werft.registry.entities import ModelVersion
from werft.registry.uris import check_alias
from werft.store.models import ModelVersionRow


class Rollbacks(PromotionBase):
    """Roll an alias back down its deployment stack."""

    def rollback(self, name: str, alias: str) -> ModelVersion:
        """Return ``alias`` to the version it pointed at before, in one step.

        The previous version is the one below the current on the alias's
        deployment stack (:func:`~werft.registry.aliases.deployment_stack`),
        skipping rejected and archived versions. Rolling back needs no gate and
        no approval: the version was released once already.

        Raises:
            NotFoundError: No such model or alias.
            ConflictError: There is no previous version to return to.
        """
        check_alias(alias)
        actor = current_actor()
        with self._db.session() as session:
            model = get_model_row(session, name, lock=True)
            current = current_version(session, model, alias)
            if current is None:
                raise NotFoundError(f"model {name!r} has no alias {alias!r}")
            stack = deployment_stack(session, model, alias)
            if not stack or stack[-1] != current:
                stack.append(current)
            target, skipped = None, []
            for number in reversed(stack[:-1]):
                row = session.scalars(
                    select(ModelVersionRow).where(
                        ModelVersionRow.model_id == model.id, ModelVersionRow.version == number
                    )
                ).first()
                if row is not None and row.status not in CLOSED:
                    target = row
                    break
                skipped.append(number)
            if target is None:
                why = f" (skipped {_numbers(skipped)}: rejected or archived)" if skipped else ""
                raise ConflictError(
                    f"{name}@{alias} has no previous version to return to{why}; promote a "
                    f"version with `werft promote {name} VERSION --to {alias}`"
                )
            at = self._clock()
            previous = move_alias(session, model, alias, target, actor=actor, at=at)
            audit.append(
                session,
                "alias.rolled_back",
                object_type="alias",
                object_id=f"{name}@{alias}",
                project=project_key(session, model),
                payload={"from": previous, "to": target.version, "skipped": skipped},
                at=at,
            )
            return version_entity(session, model, target)


def _numbers(values: Sequence[int]) -> str:
    return ", ".join(str(v) for v in values)
