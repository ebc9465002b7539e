import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from infogan_tutorial.data import FASHION_CLASSES  # noqa: E402
from infogan_tutorial.errors import SpecError  # noqa: E402
from infogan_tutorial.evaluation import hungarian_accuracy  # noqa: E402
from infogan_tutorial.figures import plot_confusion  # noqa: E402


def test_confusion_matrix_names_its_classes_and_refuses_the_wrong_number():
    labels = np.arange(100) % 10
    result = hungarian_accuracy((labels + 1) % 10, labels)
    ax = plot_confusion(result, class_names=FASHION_CLASSES)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(FASHION_CLASSES)
    assert "100.0%" in ax.get_title()
    plt.close(ax.figure)
    ax = plot_confusion(result)
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(k) for k in range(10)]
    plt.close(ax.figure)
    with pytest.raises(SpecError, match="10 labels"):
        plot_confusion(result, class_names=FASHION_CLASSES[:3])
