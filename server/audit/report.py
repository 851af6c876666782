"""What `muaina verify-audit` says of a full check: the findings and the chain's head, line by line."""

from __future__ import annotations

from server.audit.models import VerifyResult

_PROBLEMS = {
    "inspection_missing": "the inspection the audit trail says was written is not there (deleted with its revisions)",
    "revision_missing": "the revision is not stored (deleted, or never written where the trail says it was)",
    "revision_beyond_current": "a revision is stored above the inspection's current one",
    "revision_altered": "the stored document no longer matches its hash",
    "revision_not_as_audited": "the stored hash is not the one the audit trail recorded",
    "current_differs": "the inspection's document or status is not its current revision's",
    "answers_differ": "the answer rows are not the answers of the current revision",
    "score_differs": "the score or grade is not the one the audit trail recorded",
}


def report_lines(result: VerifyResult) -> tuple[list[str], list[str]]:
    """(lines for stdout, lines for stderr). The head line is for the officer to keep outside the
    database: a later check whose head does not follow from it means entries were removed from the end."""
    out: list[str] = []
    err: list[str] = []
    if result.first_bad is None and result.anchors is not None and result.anchors.ok is False:
        out.append(
            f"the audit trail's hashes follow on: {result.checked} entries checked; but it was rewritten (below)"
        )
    elif result.first_bad is None:
        out.append(f"the audit trail is intact: {result.checked} entries checked")
    else:
        err.append(
            f"the audit trail is broken at entry #{result.first_bad}: it was altered outside Muaina "
            f"({result.checked} entries before it are intact)"
        )
    if result.head_hash is not None:
        out.append(
            f"head: entry #{result.through} sha256 {result.head_hash} "
            "(keep this line outside the database and compare it with the next check)"
        )
    if result.missing:
        listed = ", ".join(f"#{g.after + 1}..#{g.next - 1}" for g in result.gaps[:10])
        more = " …" if len(result.gaps) > 10 else ""
        out.append(
            f"warning: {result.missing} entry number(s) are not in the trail ({listed}{more}); a failed commit "
            "or a database crash leaves such gaps, and so does an entry deleted and its successor re-linked"
        )
    records = result.records
    if records is not None and records.ok:
        out.append(f"the inspection records match the trail: {records.inspections} inspections checked")
    elif records is not None:
        err.append(
            f"{records.problem_count} problem(s) in the inspection records ({records.inspections} inspections "
            "checked): they were changed outside Muaina"
        )
        for p in records.problems:
            revision = f" revision {p.revision}" if p.revision is not None else ""
            err.append(f"inspection {p.inspection_id}{revision}: {_PROBLEMS[p.problem]}")
        if records.problem_count > len(records.problems):
            err.append(f"… and {records.problem_count - len(records.problems)} more")
    anchors = result.anchors
    if anchors is not None and anchors.ok is None:
        err.append("warning: the photo store could not be read: the trail was not compared with the heads kept there")
    elif anchors is not None and anchors.ok:
        kept = f"; kept entry #{anchors.written_seq}" if anchors.written_seq is not None else ""
        out.append(f"the trail matches the {anchors.kept} head(s) kept in the photo store{kept}")
        if anchors.set_aside:
            out.append(
                f"set aside {len(anchors.set_aside)} head(s) the restored trail no longer matches (entries "
                f"{', '.join(f'#{s}' for s in anchors.set_aside[:10])}{' …' if len(anchors.set_aside) > 10 else ''}); "
                "they stay in the photo store, and this is recorded in the trail"
            )
    elif anchors is not None:
        err.append(
            f"the trail no longer matches {anchors.differ_count} of the {anchors.kept} head(s) kept in the photo "
            "store: entries were rewritten or removed in the database, outside Muaina; or, if the database was "
            "restored from a backup, these are the entries written after it (then run `muaina verify-audit "
            "--accept-restore`)"
        )
        for d in anchors.differs:
            now = f"now {d.found}" if d.found is not None else "now gone"
            err.append(f"entry #{d.seq}: kept {d.at:%Y-%m-%d %H:%M} UTC as sha256 {d.hash}, {now}")
        if anchors.differ_count > len(anchors.differs):
            err.append(f"… and {anchors.differ_count - len(anchors.differs)} more")
    return out, err
