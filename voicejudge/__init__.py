"""voicejudge: align an audio LLM judge with one person's taste in voices, traced in W&B Weave.

The public API below is imported on first use, so that `import voicejudge` (and the CLI that
starts with it) costs only what a caller touches: weave, scipy and matplotlib take seconds.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AlignmentOutcome": "voicejudge.loop.alignment",
    "align": "voicejudge.loop.alignment",
    "JudgePromptAnalyzer": "voicejudge.prompting.rewrite",
    "AudioClip": "voicejudge.audio",
    "AudioError": "voicejudge.audio",
    "FeatureCache": "voicejudge.audio",
    "Features": "voicejudge.audio",
    "extract_features": "voicejudge.audio",
    "load_audio": "voicejudge.audio",
    "z_scores": "voicejudge.audio",
    "QualityScores": "voicejudge.audio.quality",
    "assess_quality": "voicejudge.audio.quality",
    "ModelReplyError": "voicejudge.models",
    "ModelRequest": "voicejudge.models",
    "ModelRequestError": "voicejudge.models",
    "backend_for": "voicejudge.models",
    "Brief": "voicejudge.learning.brief",
    "default_brief": "voicejudge.learning.brief",
    "load_brief": "voicejudge.learning.brief",
    "BUNDLED_VOICES": "voicejudge.audio.sample_set",
    "SampleSet": "voicejudge.audio.sample_set",
    "SampleSetError": "voicejudge.audio.sample_set",
    "VoiceSample": "voicejudge.audio.sample_set",
    "load_sample_set": "voicejudge.audio.sample_set",
    "publish_sample_set": "voicejudge.audio.sample_set",
    "ConfigError": "voicejudge.errors",
    "StoreError": "voicejudge.errors",
    "TrackingError": "voicejudge.errors",
    "VoiceJudgeError": "voicejudge.errors",
    "HeldOutPair": "voicejudge.evaluation.heldout",
    "HeldOutScores": "voicejudge.evaluation.heldout",
    "evaluate_judge": "voicejudge.evaluation.heldout",
    "score_heldout": "voicejudge.evaluation.heldout",
    "JudgeVerdict": "voicejudge.judging.judge",
    "SpeechJudge": "voicejudge.judging.judge",
    "JudgePrompt": "voicejudge.prompting.judge_prompt",
    "JudgePromptAnalysis": "voicejudge.prompting.judge_prompt",
    "load_judge_prompt": "voicejudge.prompting.judge_prompt",
    "seed_prompt": "voicejudge.prompting.judge_prompt",
    "starting_prompt": "voicejudge.prompting.judge_prompt",
    "PreferenceLearner": "voicejudge.learning.learner",
    "LineageNode": "voicejudge.loop.lineage",
    "lineage": "voicejudge.loop.lineage",
    "LoopConfig": "voicejudge.loop.state",
    "RoundResult": "voicejudge.loop.results",
    "RunEvent": "voicejudge.loop.results",
    "RunResult": "voicejudge.loop.results",
    "run_rounds": "voicejudge.loop.runner",
    "Pattern": "voicejudge.learning.patterns",
    "PreferencePatterns": "voicejudge.learning.patterns",
    "Comparison": "voicejudge.learning.comparison",
    "RankingFeedback": "voicejudge.labels.feedback",
    "comparisons_from": "voicejudge.labels.feedback",
    "RaterProfile": "voicejudge.labels.simulated_raters",
    "SimulatedRater": "voicejudge.labels.simulated_raters",
    "load_rater_profile": "voicejudge.labels.simulated_raters",
    "random_profile": "voicejudge.labels.simulated_raters",
    "RoundState": "voicejudge.loop.state",
    "simulate_rounds": "voicejudge.loop.state",
    "Criterion": "voicejudge.learning.rubric",
    "score": "voicejudge.learning.rubric",
    "Settings": "voicejudge.settings",
    "load_settings": "voicejudge.settings",
    "BackendChoice": "voicejudge.tracking",
    "LocalTraceServer": "voicejudge.tracking",
    "close_tracking": "voicejudge.tracking",
    "init_tracking": "voicejudge.tracking",
    "resolve_backend": "voicejudge.tracking",
}

if TYPE_CHECKING:
    from voicejudge.audio import (
        AudioClip,
        AudioError,
        FeatureCache,
        Features,
        extract_features,
        load_audio,
        z_scores,
    )
    from voicejudge.audio.quality import QualityScores, assess_quality
    from voicejudge.audio.sample_set import (
        BUNDLED_VOICES,
        SampleSet,
        SampleSetError,
        VoiceSample,
        load_sample_set,
        publish_sample_set,
    )
    from voicejudge.errors import ConfigError, StoreError, TrackingError, VoiceJudgeError
    from voicejudge.evaluation.heldout import (
        HeldOutPair,
        HeldOutScores,
        evaluate_judge,
        score_heldout,
    )
    from voicejudge.judging.judge import JudgeVerdict, SpeechJudge
    from voicejudge.labels.feedback import RankingFeedback, comparisons_from
    from voicejudge.labels.simulated_raters import (
        RaterProfile,
        SimulatedRater,
        load_rater_profile,
        random_profile,
    )
    from voicejudge.learning.brief import Brief, default_brief, load_brief
    from voicejudge.learning.comparison import Comparison
    from voicejudge.learning.learner import PreferenceLearner
    from voicejudge.learning.patterns import Pattern, PreferencePatterns
    from voicejudge.learning.rubric import Criterion, score
    from voicejudge.loop.alignment import AlignmentOutcome, align
    from voicejudge.loop.lineage import LineageNode, lineage
    from voicejudge.loop.results import RoundResult, RunEvent, RunResult
    from voicejudge.loop.runner import run_rounds
    from voicejudge.loop.state import LoopConfig, RoundState, simulate_rounds
    from voicejudge.models import ModelReplyError, ModelRequest, ModelRequestError, backend_for
    from voicejudge.prompting.judge_prompt import (
        JudgePrompt,
        JudgePromptAnalysis,
        load_judge_prompt,
        seed_prompt,
        starting_prompt,
    )
    from voicejudge.prompting.rewrite import JudgePromptAnalyzer
    from voicejudge.settings import Settings, load_settings
    from voicejudge.tracking import (
        BackendChoice,
        LocalTraceServer,
        close_tracking,
        init_tracking,
        resolve_backend,
    )


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'voicejudge' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "BUNDLED_VOICES",
    "AlignmentOutcome",
    "AudioClip",
    "AudioError",
    "BackendChoice",
    "Brief",
    "Comparison",
    "ConfigError",
    "Criterion",
    "FeatureCache",
    "Features",
    "HeldOutPair",
    "HeldOutScores",
    "JudgePrompt",
    "JudgePromptAnalysis",
    "JudgePromptAnalyzer",
    "JudgeVerdict",
    "LineageNode",
    "LocalTraceServer",
    "LoopConfig",
    "ModelReplyError",
    "ModelRequest",
    "ModelRequestError",
    "Pattern",
    "PreferenceLearner",
    "PreferencePatterns",
    "QualityScores",
    "RankingFeedback",
    "RaterProfile",
    "RoundResult",
    "RoundState",
    "RunEvent",
    "RunResult",
    "SampleSet",
    "SampleSetError",
    "Settings",
    "SimulatedRater",
    "SpeechJudge",
    "StoreError",
    "TrackingError",
    "VoiceJudgeError",
    "VoiceSample",
    "__version__",
    "align",
    "assess_quality",
    "backend_for",
    "close_tracking",
    "comparisons_from",
    "default_brief",
    "evaluate_judge",
    "extract_features",
    "init_tracking",
    "lineage",
    "load_audio",
    "load_brief",
    "load_judge_prompt",
    "load_rater_profile",
    "load_sample_set",
    "load_settings",
    "publish_sample_set",
    "random_profile",
    "resolve_backend",
    "run_rounds",
    "score",
    "score_heldout",
    "seed_prompt",
    "simulate_rounds",
    "starting_prompt",
    "z_scores",
]
