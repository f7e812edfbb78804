// Trains a classifier on a CSV file and saves it with the scaling of its inputs, so that another
// program can classify raw rows with it (classify_csv.cpp, docs/deployment.md).
//
//     build/examples/train_csv examples/data/blobs_train.csv blobs.nbl
//
// The file's last column is the class (0, 1, ...), the others are features. The features are
// standardized with a Standardizer fitted on this file; nabla::save(net, scaler, path) stores it
// beside the network (model format version 3), where load_model finds it again.

#include <nabla/nabla.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: train_csv TRAIN.csv MODEL.nbl\n");
        return 2;
    }
    try {
        nabla::CsvOptions options;
        options.label = nabla::CsvColumn::last();
        const nabla::CsvData<float> data = nabla::read_csv<float>(argv[1], options);
        const std::vector<int> labels = data.labels();
        const int classes = 1 + *std::max_element(labels.begin(), labels.end());

        nabla::Standardizer<float> scaler;
        scaler.fit(data.features);
        const Eigen::MatrixXf x = scaler.transform(data.features);
        const Eigen::MatrixXf y = nabla::one_hot<float>(labels, classes);

        const Eigen::Index features = x.rows();
        nabla::DynamicNetwork<float, nabla::CrossEntropy> net(
            {features, 16, classes}, {nabla::ReLU{}, nabla::Softmax{}}, /*seed=*/1);
        nabla::Adam adam(0.01);
        nabla::FitOptions fit_options;
        fit_options.epochs = 60;
        fit_options.batch_size = 16;
        fit_options.seed = 1;
        fit_options.progress.mode = nabla::ProgressMode::silent;
        nabla::fit(net, adam, x, y, fit_options);

        std::printf("%ld samples, %ld features, %d classes: training accuracy %.1f%%\n",
                    long(x.cols()), long(features), classes,
                    100.0 * nabla::accuracy(net.predict(x), labels));
        nabla::save(net, scaler, argv[2]);
        std::printf("saved %s with its Standardizer\n", argv[2]);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "train_csv: %s\n", error.what());
        return 1;
    }
}
