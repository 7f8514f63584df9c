"""The house-price model as KServe sees it: v1 predict/explain and v2 infer over a ModelSlot.

Steps map onto KServe's: ``preprocess`` validates and normalises the body (400 with the
field named on any problem), ``predict``/``explain`` price or explain with the pricer the
slot holds at that moment (a reload swaps the slot, never a request's pricer), and
``postprocess`` shapes the answer:

- v1 predict: ``{"predictions": [price, ...], "model_name", "model_version"}``; with
  ``"parameters": {"interval": true}`` each prediction becomes
  ``{"price", "lower", "upper", "segment"}`` and ``"interval": {"coverage": 0.9}`` is
  added (``segment``: house or land × how well the model knows the place, e.g.
  ``"house:new_city"``; its interval width was calibrated for that segment).
- v1 explain: ``{"explanations": [{price, log_price, base_value, base_price,
  contributions, factors, dollars, segment}], ...}`` (see ``homeval.model.explain``).
- v2 infer: one input tensor per listing field (BYTES for text, FP64 for numbers, shape
  [n]); outputs ``price`` (and ``lower``/``upper`` when asked), FP64 [n], and
  ``segment``, BYTES [n].
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import orjson
from kserve import Model
from kserve.errors import InvalidInput, ModelNotReady
from kserve.model import InferenceVerb
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

from homeval.data.listing_batch import Listings
from homeval.data.request_fields import RequestError, field_kind
from homeval.data.schema import INPUT_FIELDS, LISTING_FIELDS
from homeval.data.validation import (
    Options,
    columns_to_instances,
    parse_instances,
    parse_options,
    parse_v1_body,
)
from homeval.model.pricing import ExplainUnavailableError, Pricer, Quote
from inference import metrics
from inference.model_slots import ModelSlot, NotLoadedError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PriceRequest:
    """A validated request: normalised listings and what else was asked."""

    listings: Listings
    options: Options
    v2: InferRequest | None = None


@dataclass(frozen=True)
class PriceResult:
    request: PriceRequest
    pricer: Pricer
    quote: Quote | None = None
    explanations: list[dict[str, Any]] | None = None


_V1_WHERE: Final = re.compile(r"instances\[(\d+)\](?:\.|: )(\w+): ")


def _in_v2_terms(message: str) -> str:
    """A listing's error as a v2 caller sent it: the input tensor and the row, not the
    ``instances[i]`` of the v1 body it was turned into."""
    message = _V1_WHERE.sub(lambda m: f"input {m.group(2)}, row {m.group(1)}: ", message)
    return message.replace("instances[", "row [")


class HousePriceModel(Model):
    """A served name (``house-price`` or ``house-price-v3``) backed by a ModelSlot."""

    def __init__(self, name: str, slot: ModelSlot, *, max_instances: int) -> None:
        super().__init__(name)
        self.slot = slot
        self.max_instances = max_instances
        self.ready = slot.loaded
        self._ok = {
            endpoint: metrics.REQUESTS.labels(name, endpoint, "200")
            for endpoint in ("predict", "explain", "infer")
        }
        self._seconds = {
            endpoint: metrics.REQUEST_SECONDS.labels(name, endpoint)
            for endpoint in ("predict", "explain", "infer")
        }
        for endpoint in ("predict", "explain", "infer"):  # exported at 0 from the start
            metrics.NOT_READY.labels(name, endpoint)
        self._price_hist = metrics.PREDICTED_PRICE.labels(name)
        self._rows: dict[str | None, Any] = {}

    def load(self) -> bool:
        self.ready = self.slot.loaded
        return self.ready

    # --- KServe's steps ---------------------------------------------------------------------

    async def __call__(
        self,
        body: Any,
        headers: dict[str, str] | None = None,
        verb: InferenceVerb = InferenceVerb.PREDICT,
    ) -> Any:
        endpoint = (
            "explain"
            if verb == InferenceVerb.EXPLAIN
            else ("infer" if isinstance(body, InferRequest) else "predict")
        )
        start = time.perf_counter()
        result = await super().__call__(body, headers, verb)
        self._seconds[endpoint].observe(time.perf_counter() - start)
        self._ok[endpoint].inc()
        return result

    def preprocess(self, payload: Any, headers: dict[str, str] | None = None) -> PriceRequest:
        try:
            if isinstance(payload, InferRequest):
                return self._from_v2(payload)
            if isinstance(payload, bytes | bytearray | str):
                # KServe hands over the raw body when the content type is not exactly one
                # of its JSON types (e.g. "application/json; charset=utf-8"): read it anyway
                try:
                    payload = orjson.loads(payload)
                except orjson.JSONDecodeError:
                    raise RequestError('the body must be JSON: {"instances": [...]}') from None
            listings, options = parse_v1_body(payload, max_instances=self.max_instances)
        except RequestError as exc:
            raise InvalidInput(str(exc)) from None
        return PriceRequest(listings, options)

    def _from_v2(self, request: InferRequest) -> PriceRequest:
        columns: dict[str, list[Any]] = {}
        for tensor in request.inputs:
            if tensor.name not in LISTING_FIELDS:
                raise RequestError(
                    f"unknown input {tensor.name!r}; inputs are {', '.join(LISTING_FIELDS)}"
                )
            data = tensor.data
            if isinstance(data, np.ndarray):
                data = data.tolist()
            if not isinstance(data, list):
                raise RequestError(f"input {tensor.name}: data must be a list")
            if any(isinstance(v, list) for v in data):
                # the Open Inference Protocol allows data nested as its shape: [n, 1]
                if not all(isinstance(v, list) and len(v) == 1 for v in data):
                    raise RequestError(
                        f"input {tensor.name}: shape must be [n] or [n, 1], one value a listing"
                    )
                data = [v[0] for v in data]
            if tensor.datatype == "BYTES":
                try:
                    data = [v.decode() if isinstance(v, bytes) else v for v in data]
                except UnicodeDecodeError:
                    raise RequestError(f"input {tensor.name}: not UTF-8 text") from None
            if tensor.name in columns:
                raise RequestError(f"input {tensor.name} is given twice")
            columns[tensor.name] = data
        instances = columns_to_instances(columns, max_instances=self.max_instances)
        try:
            listings = parse_instances(instances, max_instances=self.max_instances)
        except RequestError as exc:
            raise RequestError(_in_v2_terms(str(exc))) from None
        return PriceRequest(listings, parse_options(request.parameters), v2=request)

    def _pricer(self) -> Pricer:
        try:
            return self.slot.pricer
        except NotLoadedError as exc:
            raise ModelNotReady(self.name, str(exc)) from None

    async def predict(
        self, payload: PriceRequest, headers: dict[str, str] | None = None
    ) -> PriceResult:
        pricer = self._pricer()
        quote = await pricer.quote_async(payload.listings)
        prices = quote.prices
        counter = self._rows.get(pricer.version)
        if counter is None:
            counter = self._rows[pricer.version] = metrics.PREDICTIONS.labels(
                self.name, pricer.version or "local"
            )
        counter.inc(len(prices))
        self._price_hist.observe_many(prices)
        return PriceResult(payload, pricer, quote=quote)

    def explain(self, payload: PriceRequest, headers: dict[str, str] | None = None) -> PriceResult:
        pricer = self._pricer()
        try:
            explanations = pricer.explain(payload.listings)
        except ExplainUnavailableError as exc:
            raise InvalidInput(f"model {self.name} cannot explain: {exc}") from None
        return PriceResult(payload, pricer, explanations=explanations)

    def postprocess(
        self,
        result: PriceResult,
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | InferResponse:
        pricer = result.pricer
        if result.explanations is not None:
            return {
                "explanations": result.explanations,
                "model_name": self.name,
                "model_version": pricer.version,
            }
        quote = result.quote
        assert quote is not None
        request = result.request
        bounds = pricer.bounds(quote) if request.options.interval else None
        if request.options.interval and bounds is None:
            raise InvalidInput(f"model {self.name} version {pricer.version} has no interval")
        if request.v2 is not None:
            return self._v2_response(request.v2, pricer, quote, bounds)
        prices = quote.prices.tolist()
        if bounds is None:
            return {
                "predictions": prices,
                "model_name": self.name,
                "model_version": pricer.version,
            }
        low, high = bounds[0].tolist(), bounds[1].tolist()
        segments = quote.segments.tolist()
        return {
            "predictions": [
                {"price": p, "lower": lo, "upper": hi, "segment": seg}
                for p, lo, hi, seg in zip(prices, low, high, segments, strict=True)
            ],
            "interval": {"coverage": pricer.coverage},
            "model_name": self.name,
            "model_version": pricer.version,
        }

    def _v2_response(
        self,
        request: InferRequest,
        pricer: Pricer,
        quote: Quote,
        bounds: tuple[np.ndarray, np.ndarray] | None,
    ) -> InferResponse:
        n = len(quote.prices)
        outputs = [InferOutput("price", [n], "FP64", quote.prices.tolist())]
        if bounds is not None:
            outputs.append(InferOutput("lower", [n], "FP64", bounds[0].tolist()))
            outputs.append(InferOutput("upper", [n], "FP64", bounds[1].tolist()))
        outputs.append(InferOutput("segment", [n], "BYTES", quote.segments.tolist()))
        return InferResponse(
            response_id=request.id or "",
            model_name=self.name,
            model_version=pricer.version,
            infer_outputs=outputs,
        )

    # --- v2 metadata --------------------------------------------------------------------

    def get_input_types(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "datatype": field_kind(name), "shape": [-1]} for name in INPUT_FIELDS
        ]

    def get_output_types(self) -> list[dict[str, Any]]:
        return [
            *(
                {"name": name, "datatype": "FP64", "shape": [-1]}
                for name in ("price", "lower", "upper")
            ),
            {"name": "segment", "datatype": "BYTES", "shape": [-1]},
        ]
