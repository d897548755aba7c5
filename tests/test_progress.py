from trainaction.progress import TRAINING_WEIGHTS, TUNING_WEIGHTS, PhaseProgress


def test_overall_percentage_weights_the_phases():
    progress = PhaseProgress(TRAINING_WEIGHTS)
    assert progress.percent == 0
    progress.complete("dataset")
    assert progress.percent == 20
    progress.set("train", 5, 10)
    assert progress.percent == 57.5
    progress.complete("train")
    progress.complete("model_upload")
    assert progress.percent == 100
    assert progress.snapshot()["train"] == {"current": 10, "total": 10, "percent": 100.0}


def test_weights_sum_to_one_and_tuning_uses_a_trials_phase():
    assert sum(TRAINING_WEIGHTS.values()) == sum(TUNING_WEIGHTS.values()) == 1.0
    assert "trials" in TUNING_WEIGHTS


def test_unweighted_categories_are_kept_and_bad_totals_clamped():
    progress = PhaseProgress(TRAINING_WEIGHTS)
    progress.set("preprocess", 20, 0)
    assert progress.snapshot()["preprocess"]["percent"] == 100.0
    assert progress.percent == 0
