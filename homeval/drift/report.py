"""The drift check's verdict in words, one sentence for every place that shows it.

The UI's Drift tab (from ``latest.json``) and the saved Evidently report (a banner at its
top, which is also the KFP HTML artifact) must say the same thing.  Evidently's own
"Dataset Drift" line applies only the share-of-columns rule; homeval can also count a
moved price level as drift by itself (``drift_on_price``), so without homeval's verdict
beside it the report would read "NOT detected" on a run that retrained.
"""

from __future__ import annotations


def verdict(
    detected: bool | None,
    share: float | None,
    share_threshold: float | None,
    price_moved: bool,
    reason: str = "",
) -> str:
    """One sentence: drift or not, and by which rule."""
    if detected is None:
        reason = reason.rstrip(".")
        return f"Drift not judged: {reason}." if reason else "Drift not judged."
    shares = f"{share:.0%} of the columns drifted" if share is not None else ""
    limit = f" (threshold {share_threshold:.0%})" if share_threshold else ""
    if detected and price_moved:
        head = "Drift detected: the price level moved"
        return f"{head}; {shares}{limit}." if shares else f"{head}."
    head = "Dataset drift detected" if detected else "No dataset drift"
    return f"{head}: {shares}{limit}." if shares else f"{head}."


def disagrees_with_share_rule(
    detected: bool | None, share: float | None, share_threshold: float | None
) -> bool:
    """True when homeval's verdict differs from what the share rule alone (Evidently's) says."""
    if detected is None or share is None or share_threshold is None:
        return False
    return detected != (share >= share_threshold)
