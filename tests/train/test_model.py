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


def test_a_lambda_layer_in_a_keras_file_is_never_executed(tmp_path, capsys):
    """Keras's safe_mode (the default edgecnn keeps): a .keras file cannot run code on `convert`."""
    import keras

    from edgecnn.cli import main

    marker = tmp_path / "executed"
    # no closure, no defaults: the code object alone touches the marker, as a malicious file's would
    touch = eval(f'lambda x: (__import__("pathlib").Path({str(marker)!r}).touch(), x)[1]')
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Lambda(touch),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.save(tmp_path / "lambda.keras")
    marker.unlink(missing_ok=True)  # building and saving ran the lambda once; loading must not
    code = main(["convert", str(tmp_path / "lambda.keras"), "--dataset", "synthetic", "--limit", "200",
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "lambda.keras" in err and "Lambda" in err
    assert not marker.exists()
