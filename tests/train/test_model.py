from edgecnn.cli import main
from edgecnn.train.model import EXPECTED_PARAMS, EXPECTED_TOTAL_PARAMS, build_model


def test_parameter_counts_match_the_seed_cnn():
    model = build_model()
    counts = [layer.count_params() for layer in model.layers if layer.count_params()]
    assert tuple(counts) == EXPECTED_PARAMS == (640, 36_928, 204_928, 1_290)
    assert model.count_params() == EXPECTED_TOTAL_PARAMS == 243_786
    assert tuple(model.input_shape) == (None, 28, 28, 1) and tuple(model.output_shape) == (None, 10)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]


def test_summary_command_prints_the_counts(capsys):
    assert main(["train", "--summary"]) == 0
    out = capsys.readouterr().out
    for figure in ("640", "36,928", "204,928", "1,290", "243,786"):
        assert figure in out
