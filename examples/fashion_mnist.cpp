// Trains a 784-256-128-10 classifier on Fashion-MNIST (ReLU hidden layers, softmax output with
// cross-entropy, Adam, batches of 64, He initialisation), then reports the test accuracy and the
// confusion matrix, saves the model, reloads it and checks that the reloaded model predicts the
// same, and writes the training curves (CSV, and PNG when gnuplot is installed) and a diagram
// of the network (Graphviz DOT).
//
//     build/examples/fashion_mnist                     # 10 epochs on all 60000 images
//     build/examples/fashion_mnist --epochs 1 --train 5000 --out /tmp/fm
//     build/examples/fashion_mnist --help
//     mpirun -np 2 build/examples/fashion_mnist --mpi   # across 2 processes (docs/distributed.md)
//
// The data is Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist); --data points
// elsewhere. Without it the program says what to install and exits with status 2.

#include <nabla/nabla.hpp>
#ifdef NABLA_EXAMPLE_MPI  // examples/CMakeLists.txt links nabla::mpi when MPI is found
#include <nabla/mpi.hpp>
#endif

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

/// The command line, with the defaults of the demo the README describes.
struct Settings {
    std::string data = nabla::fashion_mnist_default_dir;
    std::string out = "fashion_mnist_out";
    int epochs = 10;
    long train = -1;            // training images read (-1: all 60000)
    long validation = 5000;     // of those, held out to watch for overfitting
    double learning_rate = 1e-3;
    long batch = 64;
    std::uint64_t seed = 1;
    double min_accuracy = -1;   // exit 1 below this; -1: 0.88 for a full run, else no bar
    double dropout = 0;         // > 0: a Dropout layer of this rate after each hidden layer
    bool mpi = false;           // train across the processes of mpirun
    // With --mpi: the processes, and whether this one is rank 0, which prints and saves.
    std::shared_ptr<nabla::Communicator> communicator;
    bool root = true;
};

constexpr const char* usage =
    "usage: fashion_mnist [--data DIR] [--out DIR] [--epochs N] [--train N] [--validation N]\n"
    "                     [--lr RATE] [--batch N] [--seed N] [--dropout P] [--min-accuracy A]\n"
    "  --data DIR        Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist)\n"
    "  --out DIR         where the model, curves and diagram go (default fashion_mnist_out)\n"
    "  --epochs N        at most N epochs (default 10); early stopping may end sooner\n"
    "  --train N         read only the first N training images (default all 60000)\n"
    "  --validation N    hold out N of them for validation (default 5000)\n"
    "  --lr RATE         Adam's learning rate (default 0.001)\n"
    "  --batch N         samples per step (default 64)\n"
    "  --seed N          initialisation, split, shuffle and dropout seed (default 1)\n"
    "  --dropout P       drop each hidden unit with probability P while training (default 0)\n"
    "  --min-accuracy A  exit with status 1 when the test accuracy is below A\n"
    "                    (default 0.88 with all training images, else none)\n"
    "  --mpi             train across the processes of mpirun, each taking its share of every\n"
    "                    batch: mpirun -np 2 fashion_mnist --mpi (needs a build with MPI)\n";

/// The value after `argv[i]`, or exit 2 saying which option lacks one.
const char* value_of(int& i, int argc, char** argv) {
    if (i + 1 >= argc) {
        std::fprintf(stderr, "fashion_mnist: %s needs a value\n%s", argv[i], usage);
        std::exit(2);
    }
    return argv[++i];
}

/// `text` as a whole number ≥ `least`, or exit 2 naming the option.
long number_of(const char* option, const char* text, long least) {
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || value < least) {
        std::fprintf(stderr, "fashion_mnist: %s wants a whole number >= %ld, not '%s'\n", option,
                     least, text);
        std::exit(2);
    }
    return value;
}

/// `text` as a real number, or exit 2 naming the option.
double real_of(const char* option, const char* text) {
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    if (end == text || *end != '\0') {
        std::fprintf(stderr, "fashion_mnist: %s wants a number, not '%s'\n", option, text);
        std::exit(2);
    }
    return value;
}

Settings parse(int argc, char** argv) {
    Settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(usage, stdout);
            std::exit(0);
        } else if (arg == "--data") {
            s.data = value_of(i, argc, argv);
        } else if (arg == "--out") {
            s.out = value_of(i, argc, argv);
        } else if (arg == "--epochs") {
            s.epochs = int(number_of("--epochs", value_of(i, argc, argv), 1));
        } else if (arg == "--train") {
            s.train = number_of("--train", value_of(i, argc, argv), 2);
        } else if (arg == "--validation") {
            s.validation = number_of("--validation", value_of(i, argc, argv), 1);
        } else if (arg == "--lr") {
            s.learning_rate = real_of("--lr", value_of(i, argc, argv));
        } else if (arg == "--batch") {
            s.batch = number_of("--batch", value_of(i, argc, argv), 1);
        } else if (arg == "--seed") {
            s.seed = std::uint64_t(number_of("--seed", value_of(i, argc, argv), 0));
        } else if (arg == "--dropout") {
            s.dropout = real_of("--dropout", value_of(i, argc, argv));
            if (!(s.dropout >= 0 && s.dropout < 1)) {
                std::fprintf(stderr, "fashion_mnist: --dropout wants a rate in [0, 1)\n");
                std::exit(2);
            }
        } else if (arg == "--min-accuracy") {
            s.min_accuracy = real_of("--min-accuracy", value_of(i, argc, argv));
        } else if (arg == "--mpi") {
            s.mpi = true;
        } else {
            std::fprintf(stderr, "fashion_mnist: unknown option '%s'\n%s", argv[i], usage);
            std::exit(2);
        }
    }
    if (s.min_accuracy < 0) s.min_accuracy = s.train < 0 ? 0.88 : 0.0;
    return s;
}

/// Seconds since `start`.
double since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// One row per epoch: the losses, accuracies, rate and the gradient norms of each layer.
void write_curves(const nabla::History& history, const std::string& path) {
    nabla::write_file_atomically(path, [&](std::ostream& out) {
        out << "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds";
        const std::size_t layers = history.epochs.front().gradient_norms.size();
        for (std::size_t l = 1; l <= layers; ++l)
            out << ",delta_norm_" << l << ",weight_gradient_norm_" << l;
        out << '\n';
        for (const nabla::EpochRecord& r : history.epochs) {
            out << r.epoch << ',' << r.loss << ',' << r.accuracy.value_or(NAN) << ','
                << r.val_loss.value_or(NAN) << ',' << r.val_accuracy.value_or(NAN) << ','
                << r.learning_rate << ',' << r.seconds;
            for (const nabla::LayerGradientNorms& norms : r.gradient_norms)
                out << ',' << norms.delta << ',' << norms.weight_gradient;
            out << '\n';
        }
    });
}

/// Draws the curves of `csv` into `png` with gnuplot when it is installed; says what it did.
void plot_curves(const std::string& csv, const std::string& png, const std::string& script) {
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        std::printf("curves:   %s (for a PNG too: sudo apt-get install -y gnuplot-nox)\n",
                    csv.c_str());
        return;
    }
    nabla::write_file_atomically(script, [&](std::ostream& out) {
        out << "set datafile separator ','\n"
               "set terminal pngcairo size 1000,420 noenhanced\n"
               "set output '" << png << "'\n"
               "set multiplot layout 1,2\n"
               "set xlabel 'epoch'\nset key top right\nset grid\n"
               "set title 'loss'\n"
               "plot '" << csv << "' using 1:2 with linespoints title 'training', \\\n"
               "     '' using 1:4 with linespoints title 'validation'\n"
               "set title 'accuracy'\nset key bottom right\n"
               "plot '" << csv << "' using 1:3 with linespoints title 'training', \\\n"
               "     '' using 1:5 with linespoints title 'validation'\n"
               "unset multiplot\n";
    });
    const std::string command = "gnuplot '" + script + "'";
    if (std::system(command.c_str()) == 0)
        std::printf("curves:   %s and %s\n", csv.c_str(), png.c_str());
    else
        std::printf("curves:   %s (gnuplot failed on %s)\n", csv.c_str(), script.c_str());
}

/// The confusion matrix with the class names, true classes in rows.
void print_confusion(const nabla::ConfusionMatrix& counts) {
    const auto& names = nabla::FashionMnist<float>::class_names;
    std::printf("\nconfusion matrix (rows: true class, columns: predicted)\n%13s", "");
    for (Eigen::Index p = 0; p < counts.cols(); ++p) std::printf("%6ld", long(p));
    std::printf("   recall\n");
    for (Eigen::Index t = 0; t < counts.rows(); ++t) {
        std::printf("%ld %-11.11s", long(t), std::string(names[std::size_t(t)]).c_str());
        for (Eigen::Index p = 0; p < counts.cols(); ++p) std::printf("%6ld", long(counts(t, p)));
        std::printf("   %5.1f%%\n", 100.0 * double(counts(t, t)) / double(counts.row(t).sum()));
    }
}

/// Trains `net` on the split, reports the test accuracy, saves, reloads and draws it; returns the
/// exit status.
template <class Net, class Split>
int train_and_report(Net& net, const nabla::FashionMnist<float>& data, const Split& split,
                     const Settings& s, std::chrono::steady_clock::time_point start) {
    net.initialize(s.seed, nabla::HeNormal{});

    nabla::Adam adam(s.learning_rate);
    nabla::FitOptions options;
    options.epochs = s.epochs;
    options.batch_size = s.batch;
    options.seed = s.seed;
    options.early_stopping = nabla::EarlyStopping{3, 0.0, true};
    options.gradient_norms = true;  // for the curves file
    options.validation_batch_size = 1000;
    // Smaller steps as training converges: cosine annealing from the rate down to 0.
    options.schedule = nabla::CosineAnnealing(s.learning_rate, s.epochs);
    options.communicator = s.communicator;  // empty without --mpi
    std::printf("training 784-256-128-10, ReLU, softmax + cross-entropy, Adam (lr %g, cosine "
                "annealing), batch %ld, up to %d epochs",
                s.learning_rate, s.batch, s.epochs);
    if (s.dropout > 0) std::printf(", dropout %g after each hidden layer", s.dropout);
    if (s.communicator) std::printf(", across %d processes", s.communicator->size());
    std::printf("\n");
    const auto train_start = std::chrono::steady_clock::now();
    const nabla::History history =
        nabla::fit(net, adam, split.x_train, split.y_train, split.x_val, split.y_val, options);
    const double train_seconds = since(train_start);
    if (!s.root) return 0;  // rank 0 reports and saves
    std::printf("trained %zu epochs in %.1f s; weights of epoch %d (lowest validation "
                "loss)\n",
                history.size(), train_seconds, history.best_epoch);

    const Eigen::MatrixXf outputs = net.predict(data.test_images);
    const double test_accuracy = nabla::accuracy(outputs, data.test_labels);
    std::printf("\ntest accuracy: %.2f%% of %ld images\n", 100.0 * test_accuracy,
                long(data.test_images.cols()));
    print_confusion(nabla::confusion_matrix(outputs, data.test_labels));

    std::filesystem::create_directories(s.out);
    const std::string model = s.out + "/fashion_mnist.nbl";
    nabla::save(net, model);
    // The file alone is enough to rebuild the network: no type needs to be known.
    const auto reloaded = nabla::load_network<float, nabla::CrossEntropy>(model);
    const Eigen::MatrixXf again = reloaded.predict(data.test_images);
    const bool same = (again.array() == outputs.array()).all();
    std::printf("\nmodel:    %s (%ld bytes); reloaded, it gives %s\n", model.c_str(),
                long(std::filesystem::file_size(model)),
                same ? "the same outputs bit for bit" : "DIFFERENT outputs");

    write_curves(history, s.out + "/curves.csv");
    plot_curves(s.out + "/curves.csv", s.out + "/curves.png", s.out + "/curves.gnuplot");
    nabla::write_dot(net, s.out + "/network.dot");
    std::printf("diagram:  %s (render: dot -Tsvg %s/network.dot -o network.svg)\n",
                (s.out + "/network.dot").c_str(), s.out.c_str());

    std::printf("\nwhole run: %.1f s\n", since(start));
    if (!same) return 1;
    if (test_accuracy < s.min_accuracy) {
        std::printf("test accuracy below the bar of %.2f%%\n", 100.0 * s.min_accuracy);
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Settings s = parse(argc, argv);
    const auto start = std::chrono::steady_clock::now();
#ifdef NABLA_EXAMPLE_MPI
    std::optional<nabla::mpi::Session> session;
    if (s.mpi) {
        session.emplace(argc, argv);
        s.communicator = nabla::mpi::world();
        s.root = s.communicator->rank() == 0;
        // The other ranks train and say nothing; their errors still go to stderr.
        if (!s.root && !std::freopen("/dev/null", "w", stdout)) return 1;
    }
#else
    if (s.mpi) {
        std::fprintf(stderr, "fashion_mnist: --mpi needs a build with MPI: install libopenmpi-dev "
                             "and openmpi-bin, and configure again\n");
        return 2;
    }
#endif

    if (!nabla::fashion_mnist_available(s.data)) {
        std::fprintf(stderr,
                     "fashion_mnist: Fashion-MNIST is not in %s.\n"
                     "Install it with:\n    sudo apt-get install -y dataset-fashion-mnist\n"
                     "or pass --data DIR, DIR holding train-images-idx3-ubyte.gz,\n"
                     "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and\n"
                     "t10k-labels-idx1-ubyte.gz (or the same files unpacked).\n",
                     s.data.c_str());
        return 2;
    }

    try {
        const nabla::FashionMnist<float> data = nabla::load_fashion_mnist<float>(s.data, s.train);
        if (s.validation >= data.train_images.cols()) {
            std::fprintf(stderr, "fashion_mnist: --validation %ld leaves no training images\n",
                         s.validation);
            return 2;
        }
        const Eigen::MatrixXf targets = nabla::one_hot<float>(data.train_labels, 10);
        const double fraction = double(s.validation) / double(data.train_images.cols());
        const auto split =
            nabla::train_validation_split(data.train_images, targets, fraction, s.seed);
        std::printf("Fashion-MNIST: %ld training, %ld validation, %ld test images (%.1f s)\n",
                    long(split.x_train.cols()), long(split.x_val.cols()),
                    long(data.test_images.cols()), since(start));

        // Sizes chosen at run time, activations as types: no dispatch inside a layer.
        using Hidden = nabla::Dense<float, Eigen::Dynamic, Eigen::Dynamic, nabla::ReLU>;
        using Output = nabla::Dense<float, Eigen::Dynamic, Eigen::Dynamic, nabla::Softmax>;
        if (s.dropout > 0) {
            using Dropout = nabla::Dropout<float>;
            using Net = nabla::Network<nabla::CrossEntropy, Hidden, Dropout, Hidden, Dropout, Output>;
            Net net(std::make_tuple(Hidden(784, 256), Dropout(256, s.dropout), Hidden(256, 128),
                                    Dropout(128, s.dropout), Output(128, 10)));
            return train_and_report(net, data, split, s, start);
        }
        using Net = nabla::Network<nabla::CrossEntropy, Hidden, Hidden, Output>;
        Net net({784, 256, 128, 10});
        return train_and_report(net, data, split, s, start);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "fashion_mnist: %s\n", error.what());
#ifdef NABLA_EXAMPLE_MPI
        // The other ranks may be waiting for this one in a sum: end them all.
        if (s.mpi) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
        return 1;
    }
}
