"""voicejudge: align an audio LLM judge with one person's taste in voices, traced in W&B Weave."""

from voicejudge.settings import apply_safe_environment

apply_safe_environment()

from voicejudge.alignment import AlignmentOutcome, align  # noqa: E402
from voicejudge.analyzer import JudgePromptAnalyzer  # noqa: E402
from voicejudge.audio import (  # noqa: E402
    AudioClip,
    AudioError,
    FeatureCache,
    Features,
    extract_features,
    load_audio,
    z_scores,
)
from voicejudge.audio.quality import QualityScores, assess_quality  # noqa: E402
from voicejudge.backends import (  # noqa: E402
    ModelReplyError,
    ModelRequest,
    ModelRequestError,
    backend_for,
)
from voicejudge.data import (  # noqa: E402
    SampleSet,
    SampleSetError,
    VoiceSample,
    load_sample_set,
    publish_sample_set,
)
from voicejudge.errors import (  # noqa: E402
    ConfigError,
    StoreError,
    TrackingError,
    VoiceJudgeError,
)
from voicejudge.evaluation import (  # noqa: E402
    HeldOutPair,
    HeldOutScores,
    evaluate_judge,
    score_heldout,
)
from voicejudge.judge import JudgeVerdict, SpeechJudge  # noqa: E402
from voicejudge.judge_prompt import (  # noqa: E402
    JudgePrompt,
    JudgePromptAnalysis,
    load_judge_prompt,
    seed_prompt,
)
from voicejudge.learner import PreferenceLearner  # noqa: E402
from voicejudge.lineage import LineageNode, lineage  # noqa: E402
from voicejudge.loop import LoopConfig, RoundResult, RunResult, run_rounds  # noqa: E402
from voicejudge.patterns import Pattern, PreferencePatterns  # noqa: E402
from voicejudge.ranking import Comparison, RankingFeedback, comparisons_from  # noqa: E402
from voicejudge.raters import RaterProfile, SimulatedRater, load_rater_profile  # noqa: E402
from voicejudge.rubric import Criterion, score  # noqa: E402
from voicejudge.settings import Settings, load_settings  # noqa: E402
from voicejudge.tracking import (  # noqa: E402
    BackendChoice,
    LocalTraceServer,
    close_tracking,
    init_tracking,
    resolve_backend,
)

__version__ = "0.1.0"

__all__ = [
    "AlignmentOutcome",
    "AudioClip",
    "AudioError",
    "BackendChoice",
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
    "evaluate_judge",
    "extract_features",
    "init_tracking",
    "lineage",
    "load_audio",
    "load_judge_prompt",
    "load_rater_profile",
    "load_sample_set",
    "load_settings",
    "publish_sample_set",
    "resolve_backend",
    "run_rounds",
    "score",
    "score_heldout",
    "seed_prompt",
    "z_scores",
]
