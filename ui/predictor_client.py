"""A small client of the predictor's KServe v1 protocol, for callers that face people.

Every failure becomes one ``PredictorError`` whose ``kind`` says what happened (down,
too slow, refused the listing, broken) and whose message can be shown as is: a web page
must say "the price service did not answer within 5 s", never print a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import httpx

ErrorKind = Literal[
    "unavailable", "timeout", "rejected", "not_found", "not_ready", "failed", "bad_response"
]
ERROR_KINDS: Final = (
    "unavailable",
    "timeout",
    "rejected",
    "not_found",
    "not_ready",
    "failed",
    "bad_response",
)


class PredictorError(RuntimeError):
    """The predictor could not price the request; ``str(error)`` is fit for a person."""

    def __init__(self, kind: ErrorKind, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.status = status


@dataclass(frozen=True)
class PricePrediction:
    """One predicted price, with its interval when the predictor gave one."""

    price: float
    lower: float | None = None
    upper: float | None = None
    coverage: float | None = None
    model_version: str | None = None
    segment: str | None = None
    """What the interval was calibrated for, e.g. ``'house:new_city'`` (``estimator.SEGMENTS``)."""


@dataclass(frozen=True)
class Explanation:
    """Why one listing got its price: a base value plus one contribution per field.

    ``log_space`` tells how to read the numbers: on the log-price scale contributions
    multiply the price (``exp(base + sum) = price``); otherwise they add dollars.
    """

    base_value: float
    contributions: dict[str, float]
    log_space: bool
    prediction: float | None = None
    model_version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(body, Mapping):
        for key in ("error", "detail", "message"):
            if key in body:
                detail = body[key]
                if isinstance(detail, list):  # FastAPI validation errors
                    return "; ".join(
                        f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}"
                        if isinstance(d, Mapping)
                        else str(d)
                        for d in detail
                    )
                return str(detail)
    return str(body)[:300]


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PredictorError("bad_response", f"the predictor sent {what} that is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise PredictorError("bad_response", f"the predictor sent a non-finite {what}")
    return number


def _optional_number(value: Any, what: str) -> float | None:
    return None if value is None else _number(value, what)


class PredictorClient:
    """KServe v1 calls with a timeout and errors a person can read.

    ``transport`` lets tests hand in an ``httpx`` transport; everything else goes over
    the network to ``base_url``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            headers={"user-agent": "homeval-ui"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PredictorClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- transport ----------------------------------------------------------------------

    def _call(self, method: str, path: str, payload: Any = None) -> tuple[Any, httpx.Headers]:
        try:
            response = self._http.request(method, path, json=payload)
        except httpx.TimeoutException as exc:
            raise PredictorError(
                "timeout", f"the price service did not answer within {self.timeout_s:g} s"
            ) from exc
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.NetworkError) as exc:
            raise PredictorError(
                "unavailable", f"the price service at {self.base_url} is not reachable"
            ) from exc
        except httpx.HTTPError as exc:
            raise PredictorError("failed", f"calling the price service failed: {exc}") from exc
        status = response.status_code
        if status == 400 or status == 422:
            raise PredictorError("rejected", _error_text(response), status=status)
        if status == 404:
            raise PredictorError(
                "not_found", f"the price service has no such model ({_error_text(response)})",
                status=status,
            )  # fmt: skip
        if status == 503:
            raise PredictorError(
                "not_ready", "the price service is starting or has no model loaded yet",
                status=status,
            )  # fmt: skip
        if status >= 400:
            raise PredictorError(
                "failed",
                f"the price service failed (HTTP {status}): {_error_text(response)}",
                status=status,
            )
        try:
            return response.json(), response.headers
        except ValueError as exc:
            raise PredictorError(
                "bad_response", "the price service sent an answer that is not JSON"
            ) from exc

    # --- protocol -----------------------------------------------------------------------

    def models(self) -> list[str]:
        """Names of the models the predictor serves (``GET /v1/models``)."""
        body, _ = self._call("GET", "/v1/models")
        names = body.get("models") if isinstance(body, Mapping) else None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise PredictorError("bad_response", "the price service listed its models oddly")
        return list(names)

    def ready(self, model: str) -> bool:
        """Whether ``model`` is loaded; False when not ready, errors when unreachable."""
        try:
            body, _ = self._call("GET", f"/v1/models/{model}")
        except PredictorError as exc:
            if exc.kind in ("not_ready", "not_found"):
                return False
            raise
        return bool(isinstance(body, Mapping) and body.get("ready"))

    def predict(
        self, model: str, instances: Sequence[Mapping[str, Any]], *, interval: bool = True
    ) -> list[PricePrediction]:
        """Prices of ``instances`` (listing dicts), with intervals when asked."""
        payload: dict[str, Any] = {"instances": [dict(i) for i in instances]}
        if interval:
            payload["parameters"] = {"interval": True}
        body, headers = self._call("POST", f"/v1/models/{model}:predict", payload)
        return parse_predictions(body, expected=len(instances), headers=headers)

    def explain(self, model: str, instances: Sequence[Mapping[str, Any]]) -> list[Explanation]:
        """Per-field contributions of ``instances`` (``:explain``)."""
        payload = {"instances": [dict(i) for i in instances]}
        body, headers = self._call("POST", f"/v1/models/{model}:explain", payload)
        return parse_explanations(body, expected=len(instances), headers=headers)


# --- reading answers ------------------------------------------------------------------------


def _version(body: Mapping[str, Any], item: Any, headers: httpx.Headers | None) -> str | None:
    for source in (item, body):
        if isinstance(source, Mapping):
            for key in ("model_version", "version"):
                if source.get(key) is not None:
                    return str(source[key])
    if headers is not None:
        for key in ("x-model-version", "model-version"):
            if key in headers:
                return headers[key]
    return None


def parse_predictions(
    body: Any, *, expected: int, headers: httpx.Headers | None = None
) -> list[PricePrediction]:
    """``{"predictions": [...]}`` → prices; each item a number, or with an interval asked
    ``{"price", "lower", "upper"}`` and the coverage in ``"interval": {"coverage": ..}``."""
    if not isinstance(body, Mapping) or not isinstance(body.get("predictions"), list):
        raise PredictorError("bad_response", "the price service answered without predictions")
    items: list[Any] = body["predictions"]
    if len(items) != expected:
        raise PredictorError(
            "bad_response", f"the price service sent {len(items)} prices for {expected} listings"
        )
    lowers = body.get("lower") if isinstance(body.get("lower"), list) else None
    uppers = body.get("upper") if isinstance(body.get("upper"), list) else None
    interval = body.get("interval")
    coverage = interval.get("coverage") if isinstance(interval, Mapping) else body.get("coverage")
    out: list[PricePrediction] = []
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            price = _number(item.get("price", item.get("prediction")), "a price")
            lower = _optional_number(item.get("lower"), "a lower bound")
            upper = _optional_number(item.get("upper"), "an upper bound")
            cover = item.get("coverage", coverage)
            segment = item.get("segment") if isinstance(item.get("segment"), str) else None
        else:
            segment = None
            price = _number(item, "a price")
            lower = _optional_number(lowers[i], "a lower bound") if lowers else None
            upper = _optional_number(uppers[i], "an upper bound") if uppers else None
            cover = coverage
        out.append(
            PricePrediction(
                price=price,
                lower=lower,
                upper=upper,
                coverage=_optional_number(cover, "a coverage"),
                model_version=_version(body, item, headers),
                segment=segment,
            )
        )
    return out


def parse_explanations(
    body: Any, *, expected: int, headers: httpx.Headers | None = None
) -> list[Explanation]:
    """``{"explanations": [{"base_value", "contributions": {field: value}, "price"}...]}``;
    values are on the log-price scale unless ``"space"`` says otherwise (see
    ``homeval/model/explain.py``)."""
    items = body.get("explanations") if isinstance(body, Mapping) else None
    if not isinstance(items, list):
        raise PredictorError("bad_response", "the price service answered without explanations")
    if len(items) != expected:
        raise PredictorError(
            "bad_response",
            f"the price service sent {len(items)} explanations for {expected} listings",
        )
    out: list[Explanation] = []
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("contributions"), Mapping):
            raise PredictorError("bad_response", "an explanation has no contributions")
        contributions = {
            str(k): _number(v, f"a contribution of {k}") for k, v in item["contributions"].items()
        }
        space = str(item.get("space", body.get("space", "log_price")))
        out.append(
            Explanation(
                base_value=_number(item.get("base_value"), "a base value"),
                contributions=contributions,
                log_space=space.startswith("log"),
                prediction=_optional_number(item.get("price"), "a price"),
                model_version=_version(body, item, headers),
            )
        )
    return out
