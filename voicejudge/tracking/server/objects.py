"""Objects: versioned values with digests weave computes, soft deletes, tags and aliases."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from weave.trace.errors import (
    DigestMismatchError,
    InvalidRequest,
    NotFoundError,
    ObjectDeletedError,
)
from weave.trace.serialization.digest import compute_object_digest_result
from weave.vendor.weave_server_sdk.types import (
    ObjectCreateResponse,
    ObjectDeleteResponse,
    ObjectQueryResponse,
    ObjectReadResponse,
)
from weave.vendor.weave_server_sdk.types.object_delete_response import DeletedVersion
from weave.vendor.weave_server_sdk.types.object_query_response import Obj as ListedObj
from weave.vendor.weave_server_sdk.types.object_read_response import Obj
from weave.vendor.weave_server_sdk.types.objects import AliasListResponse, TagListResponse

from voicejudge.tracking.server.base import ServerBase, construct, now, parse_time

_OBJECT_SORTS = {"created_at", "object_id", "version_index", "digest"}
_VERSION_ALIAS = re.compile(r"^v(\d+)$")


class ObjectsMixin(ServerBase):
    """Versions numbered per object id; a deleted version is hidden until it is published again."""

    def obj_create(self, req: Mapping[str, Any]) -> ObjectCreateResponse:
        obj = req["obj"]
        project_id, object_id = obj["project_id"], obj["object_id"]
        result = compute_object_digest_result(obj["val"], obj.get("builtin_object_class"))
        expected = obj.get("expected_digest")
        if expected and expected != result.digest:
            raise DigestMismatchError(
                f"Object {object_id}: expected digest {expected}, computed {result.digest}"
            )
        kind = "op" if _is_op(result.processed_val) else "object"
        base_class = obj.get("set_base_object_class") or result.base_object_class
        with self.store.write() as conn:
            existing = conn.execute(
                "SELECT deleted_at FROM objects "
                "WHERE project_id = ? AND object_id = ? AND digest = ?",
                (project_id, object_id, result.digest),
            ).fetchone()
            if existing is not None:
                if existing[0] is not None:
                    conn.execute(
                        "UPDATE objects SET deleted_at = NULL WHERE project_id = ? AND "
                        "object_id = ? AND digest = ?",
                        (project_id, object_id, result.digest),
                    )
            else:
                (next_version,) = conn.execute(
                    "SELECT coalesce(max(version_index) + 1, 0) FROM objects "
                    "WHERE project_id = ? AND object_id = ?",
                    (project_id, object_id),
                ).fetchone()
                conn.execute(
                    "INSERT INTO objects (project_id, object_id, digest, version_index, kind, "
                    "base_object_class, leaf_object_class, val, created_at, wb_user_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        project_id,
                        object_id,
                        result.digest,
                        next_version,
                        kind,
                        base_class,
                        result.leaf_object_class,
                        result.json_val,
                        now(),
                        obj.get("wb_user_id") or self.user,
                    ),
                )
        return ObjectCreateResponse(digest=result.digest, object_id=object_id)

    def obj_read(self, req: Mapping[str, Any]) -> ObjectReadResponse:
        project_id, object_id = req["project_id"], req["object_id"]
        digest = self._resolve_digest(project_id, object_id, req["digest"])
        objs = self._select_objects(
            project_id,
            ["object_id = ?", "digest = ?"],
            [object_id, digest],
            metadata_only=bool(req.get("metadata_only")),
            with_tags=bool(req.get("include_tags_and_aliases")),
        )
        return ObjectReadResponse(obj=objs[0])

    def objs_query(self, req: Mapping[str, Any]) -> ObjectQueryResponse:
        project_id = req["project_id"]
        flt = req.get("filter") or {}
        clauses: list[str] = []
        params: list[Any] = []
        for key, column in (
            ("object_ids", "object_id"),
            ("base_object_classes", "base_object_class"),
            ("leaf_object_classes", "leaf_object_class"),
        ):
            if flt.get(key) is not None:
                clauses.append(f"{column} IN (SELECT value FROM json_each(?))")
                params.append(json.dumps(list(flt[key])))
        if flt.get("exclude_base_object_classes"):
            clauses.append(
                "coalesce(base_object_class, '') NOT IN (SELECT value FROM json_each(?))"
            )
            params.append(json.dumps(list(flt["exclude_base_object_classes"])))
        if flt.get("is_op") is not None:
            clauses.append("kind = ?")
            params.append("op" if flt["is_op"] else "object")
        if flt.get("latest_only"):
            clauses.append(
                "version_index = (SELECT max(o2.version_index) FROM objects o2 WHERE "
                "o2.project_id = objects.project_id AND o2.object_id = objects.object_id "
                "AND o2.deleted_at IS NULL)"
            )
        if flt.get("tags"):
            clauses.append(
                "EXISTS (SELECT 1 FROM object_tags t WHERE t.project_id = objects.project_id "
                "AND t.object_id = objects.object_id AND t.digest = objects.digest "
                "AND t.tag IN (SELECT value FROM json_each(?)))"
            )
            params.append(json.dumps(list(flt["tags"])))
        if flt.get("aliases"):
            clauses.append(
                "EXISTS (SELECT 1 FROM object_aliases a WHERE a.project_id = objects.project_id "
                "AND a.object_id = objects.object_id AND a.digest = objects.digest "
                "AND a.alias IN (SELECT value FROM json_each(?)))"
            )
            params.append(json.dumps(list(flt["aliases"])))
        order = [
            f"{spec['field']} {'DESC' if spec.get('direction') == 'desc' else 'ASC'} NULLS LAST"
            for spec in req.get("sort_by") or []
            if spec["field"] in _OBJECT_SORTS
        ]
        objs = self._select_objects(
            project_id,
            clauses,
            params,
            metadata_only=bool(req.get("metadata_only")),
            with_tags=bool(req.get("include_tags_and_aliases")),
            order=", ".join([*order, "created_at", "rowid"]),
            limit=req.get("limit"),
            offset=req.get("offset"),
            model=ListedObj,
        )
        return ObjectQueryResponse(objs=objs)

    def obj_delete(self, req: Mapping[str, Any]) -> ObjectDeleteResponse:
        project_id, object_id = req["project_id"], req["object_id"]
        digests = [self._resolve_digest(project_id, object_id, d) for d in req.get("digests") or []]
        with self.store.write() as conn:
            rows = conn.execute(
                "SELECT digest, base_object_class, leaf_object_class FROM objects WHERE "
                "project_id = ? AND object_id = ? AND deleted_at IS NULL",
                (project_id, object_id),
            ).fetchall()
            doomed = [r for r in rows if not digests or r[0] in digests]
            if not doomed:
                raise NotFoundError(f"Object {object_id} not found")
            conn.executemany(
                "UPDATE objects SET deleted_at = ? WHERE project_id = ? AND object_id = ? "
                "AND digest = ?",
                [(now(), project_id, object_id, r[0]) for r in doomed],
            )
        return ObjectDeleteResponse(
            num_deleted=len(doomed),
            deleted_versions=[
                DeletedVersion(digest=r[0], base_object_class=r[1], leaf_object_class=r[2])
                for r in doomed
            ],
        )

    def obj_add_tags(self, req: Mapping[str, Any]) -> None:
        self._change_tags(
            req,
            "INSERT OR IGNORE INTO object_tags (project_id, object_id, digest, tag) "
            "VALUES (?, ?, ?, ?)",
        )

    def obj_remove_tags(self, req: Mapping[str, Any]) -> None:
        self._change_tags(
            req,
            "DELETE FROM object_tags WHERE project_id = ? AND object_id = ? AND digest = ? "
            "AND tag = ?",
        )

    def _change_tags(self, req: Mapping[str, Any], statement: str) -> None:
        project_id, object_id = req["project_id"], req["object_id"]
        digest = self._resolve_digest(project_id, object_id, req["digest"])
        with self.store.write() as conn:
            conn.executemany(statement, [(project_id, object_id, digest, t) for t in req["tags"]])

    def obj_set_aliases(self, req: Mapping[str, Any]) -> None:
        project_id, object_id = req["project_id"], req["object_id"]
        reserved = [a for a in req["aliases"] if a == "latest" or _VERSION_ALIAS.match(a)]
        if reserved:
            raise InvalidRequest(f"Aliases {reserved} are reserved for version lookups")
        digest = self._resolve_digest(project_id, object_id, req["digest"])
        with self.store.write() as conn:
            conn.executemany(
                "INSERT INTO object_aliases (project_id, object_id, alias, digest) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (project_id, object_id, alias) "
                "DO UPDATE SET digest = excluded.digest",
                [(project_id, object_id, alias, digest) for alias in req["aliases"]],
            )

    def obj_remove_aliases(self, req: Mapping[str, Any]) -> None:
        with self.store.write() as conn:
            conn.executemany(
                "DELETE FROM object_aliases WHERE project_id = ? AND object_id = ? AND alias = ?",
                [(req["project_id"], req["object_id"], alias) for alias in req["aliases"]],
            )

    def tags_list(self, req: Mapping[str, Any]) -> TagListResponse:
        rows = self.store.query(
            "SELECT DISTINCT tag FROM object_tags WHERE project_id = ? ORDER BY tag",
            (req["project_id"],),
        )
        return TagListResponse(tags=[r[0] for r in rows])

    def aliases_list(self, req: Mapping[str, Any]) -> AliasListResponse:
        rows = self.store.query(
            "SELECT DISTINCT alias FROM object_aliases WHERE project_id = ? ORDER BY alias",
            (req["project_id"],),
        )
        return AliasListResponse(aliases=[r[0] for r in rows])

    def _resolve_digest(self, project_id: str, object_id: str, version: str) -> str:
        """Turn `latest`, `vN`, an alias or a digest into the digest of a live version."""
        base = (
            "SELECT digest FROM objects WHERE project_id = ? AND object_id = ? "
            "AND deleted_at IS NULL "
        )
        args: tuple[Any, ...] = (project_id, object_id)
        numbered = _VERSION_ALIAS.match(version)
        if version == "latest":
            rows = self.store.query(base + "ORDER BY version_index DESC LIMIT 1", args)
        elif numbered:
            rows = self.store.query(base + "AND version_index = ?", (*args, int(numbered[1])))
        else:
            rows = self.store.query(base + "AND digest = ?", (*args, version))
            if not rows:
                rows = self.store.query(
                    "SELECT a.digest FROM object_aliases a JOIN objects o ON "
                    "o.project_id = a.project_id AND o.object_id = a.object_id AND "
                    "o.digest = a.digest WHERE a.project_id = ? AND a.object_id = ? "
                    "AND a.alias = ? AND o.deleted_at IS NULL",
                    (*args, version),
                )
        if not rows:
            deleted = self.store.query(
                "SELECT deleted_at FROM objects WHERE project_id = ? AND object_id = ? "
                "AND deleted_at IS NOT NULL AND (digest = ? OR ? = 'v' || version_index)",
                (*args, version, version),
            )
            if deleted:
                raise ObjectDeletedError(
                    f"Object {object_id}:{version} was deleted", parse_time(deleted[0][0])
                )
            raise NotFoundError(f"Object {object_id}:{version} not found")
        return rows[0][0]

    def _select_objects(
        self,
        project_id: str,
        clauses: list[str],
        params: list[Any],
        *,
        metadata_only: bool = False,
        with_tags: bool = False,
        order: str = "created_at, rowid",
        limit: int | None = None,
        offset: int | None = None,
        model: type[Obj] | type[ListedObj] = Obj,
    ) -> list[Any]:
        where = " AND ".join(["project_id = ?", "deleted_at IS NULL", *clauses])
        sql = (
            "SELECT object_id, digest, version_index, kind, base_object_class, "
            f"leaf_object_class, {'NULL' if metadata_only else 'val'}, created_at, wb_user_id, "
            "length(val), (SELECT max(o2.version_index) FROM objects o2 WHERE "
            "o2.project_id = objects.project_id AND o2.object_id = objects.object_id "
            f"AND o2.deleted_at IS NULL) FROM objects WHERE {where} ORDER BY {order}"
        )
        args = [project_id, *params]
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            args += [-1 if limit is None else limit, offset or 0]
        objs = []
        for row in self.store.query(sql, args):
            object_id, digest, version_index, kind, base, leaf, val, created, user, size, top = row
            tags: list[str] | None = None
            aliases: list[str] | None = None
            if with_tags:
                tags, aliases = self._tags_and_aliases(project_id, object_id, digest)
                if version_index == top:
                    aliases = ["latest", *aliases]
            objs.append(
                construct(
                    model,
                    object_id=object_id,
                    project_id=project_id,
                    digest=digest,
                    version_index=version_index,
                    kind=kind,
                    base_object_class=base,
                    leaf_object_class=leaf,
                    val={} if val is None else json.loads(val),
                    created_at=parse_time(created),
                    wb_user_id=user,
                    size_bytes=size,
                    is_latest=int(version_index == top),
                    deleted_at=None,
                    tags=tags,
                    aliases=aliases,
                )
            )
        return objs

    def _tags_and_aliases(
        self, project_id: str, object_id: str, digest: str
    ) -> tuple[list[str], list[str]]:
        tags = self.store.query(
            "SELECT tag FROM object_tags WHERE project_id = ? AND object_id = ? AND digest = ? "
            "ORDER BY tag",
            (project_id, object_id, digest),
        )
        aliases = self.store.query(
            "SELECT alias FROM object_aliases WHERE project_id = ? AND object_id = ? "
            "AND digest = ? ORDER BY alias",
            (project_id, object_id, digest),
        )
        return [r[0] for r in tags], [r[0] for r in aliases]


def _is_op(val: Any) -> bool:
    return (
        isinstance(val, dict)
        and val.get("_type") == "CustomWeaveType"
        and (val.get("weave_type") or {}).get("type") == "Op"
    )
