"""voicejudge: align an audio LLM judge with one person's taste in voices, traced in W&B Weave.

The public API below is imported on first use, so that `import voicejudge` (and the CLI that
starts with it) costs only what a caller touches: weave, scipy and matplotlib take seconds.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AlignmentOutcome": "voicejudge.alignment",
    "align": "voicejudge.alignment",
    "JudgePromptAnalyzer": "voicejudge.analyzer",
    "AudioClip": "voicejudge.audio",
    "AudioError": "voicejudge.audio",
    "FeatureCache": "voicejudge.audio",
    "Features": "voicejudge.audio",
    "extract_features": "voicejudge.audio",
    "load_audio": "voicejudge.audio",
    "z_scores": "voicejudge.audio",
    "QualityScores": "voicejudge.audio.quality",
    "assess_quality": "voicejudge.audio.quality",
    "ModelReplyError": "voicejudge.backends",
    "ModelRequest": "voicejudge.backends",
    "ModelRequestError": "voicejudge.backends",
    "backend_for": "voicejudge.backends",
    "Brief": "voicejudge.brief",
    "default_brief": "voicejudge.brief",
    "load_brief": "voicejudge.brief",
    "BUNDLED_VOICES": "voicejudge.data",
    "SampleSet": "voicejudge.data",
    "SampleSetError": "voicejudge.data",
    "VoiceSample": "voicejudge.data",
    "load_sample_set": "voicejudge.data",
    "publish_sample_set": "voicejudge.data",
    "ConfigError": "voicejudge.errors",
    "StoreError": "voicejudge.errors",
    "TrackingError": "voicejudge.errors",
    "VoiceJudgeError": "voicejudge.errors",
    "HeldOutPair": "voicejudge.evaluation",
    "HeldOutScores": "voicejudge.evaluation",
    "evaluate_judge": "voicejudge.evaluation",
    "score_heldout": "voicejudge.evaluation",
    "JudgeVerdict": "voicejudge.judge",
    "SpeechJudge": "voicejudge.judge",
    "JudgePrompt": "voicejudge.judge_prompt",
    "JudgePromptAnalysis": "voicejudge.judge_prompt",
    "load_judge_prompt": "voicejudge.judge_prompt",
    "seed_prompt": "voicejudge.judge_prompt",
    "starting_prompt": "voicejudge.judge_prompt",
    "PreferenceLearner": "voicejudge.learner",
    "LineageNode": "voicejudge.lineage",
    "lineage": "voicejudge.lineage",
    "LoopConfig": "voicejudge.rounds",
    "RoundResult": "voicejudge.loop",
    "RunEvent": "voicejudge.loop",
    "RunResult": "voicejudge.loop",
    "run_rounds": "voicejudge.loop",
    "Pattern": "voicejudge.patterns",
    "PreferencePatterns": "voicejudge.patterns",
    "Comparison": "voicejudge.ranking",
    "RankingFeedback": "voicejudge.ranking",
    "comparisons_from": "voicejudge.ranking",
    "RaterProfile": "voicejudge.raters",
    "SimulatedRater": "voicejudge.raters",
    "load_rater_profile": "voicejudge.raters",
    "random_profile": "voicejudge.raters",
    "RoundState": "voicejudge.rounds",
    "simulate_rounds": "voicejudge.rounds",
    "Criterion": "voicejudge.rubric",
    "score": "voicejudge.rubric",
    "Settings": "voicejudge.settings",
    "load_settings": "voicejudge.settings",
    "BackendChoice": "voicejudge.tracking",
    "LocalTraceServer": "voicejudge.tracking",
    "close_tracking": "voicejudge.tracking",
    "init_tracking": "voicejudge.tracking",
    "resolve_backend": "voicejudge.tracking",
}

if TYPE_CHECKING:
    from voicejudge.alignment import AlignmentOutcome, align
    from voicejudge.analyzer import JudgePromptAnalyzer
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
    from voicejudge.backends import ModelReplyError, ModelRequest, ModelRequestError, backend_for
    from voicejudge.brief import Brief, default_brief, load_brief
    from voicejudge.data import (
        BUNDLED_VOICES,
        SampleSet,
        SampleSetError,
        VoiceSample,
        load_sample_set,
        publish_sample_set,
    )
    from voicejudge.errors import ConfigError, StoreError, TrackingError, VoiceJudgeError
    from voicejudge.evaluation import HeldOutPair, HeldOutScores, evaluate_judge, score_heldout
    from voicejudge.judge import JudgeVerdict, SpeechJudge
    from voicejudge.judge_prompt import (
        JudgePrompt,
        JudgePromptAnalysis,
        load_judge_prompt,
        seed_prompt,
        starting_prompt,
    )
    from voicejudge.learner import PreferenceLearner
    from voicejudge.lineage import LineageNode, lineage
    from voicejudge.loop import RoundResult, RunEvent, RunResult, run_rounds
    from voicejudge.patterns import Pattern, PreferencePatterns
    from voicejudge.ranking import Comparison, RankingFeedback, comparisons_from
    from voicejudge.raters import RaterProfile, SimulatedRater, load_rater_profile, random_profile
    from voicejudge.rounds import LoopConfig, RoundState, simulate_rounds
    from voicejudge.rubric import Criterion, score
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
