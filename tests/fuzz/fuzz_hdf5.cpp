// HDF5 in the ann-benchmarks layout, fuzzed on qtune's side of libhdf5.
//
// libhdf5 1.10.8 (Debian 12) itself crashes or hangs on some corrupt files (its own parser, not
// instrumented here); fuzzing its bytes would report libhdf5's bugs, not qtune's. So this target
// reads the input as a *description* of an HDF5 file -- which datasets exist, their rank, declared
// shape (up to 2^40 rows, with chunked storage that need not be allocated), element type, chunking,
// the values (NaN/Inf included) and the "distance" attribute -- writes that file with libhdf5's
// writer, and runs qtune's readers on it. What qtune does with anything libhdf5 reports is covered;
// the limit on raw corrupt files is documented in the README.
// QTUNE_FUZZ_HDF5_RAW=1 instead writes the input bytes as the file (libhdf5's territory; not in CI).
#include <hdf5.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "qtune/dataset.hpp"

namespace {

struct byte_reader {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t u8() {
    if (!n) return 0;
    --n;
    return *p++;
  }
  std::uint64_t u64(int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | u8();
    return v;
  }
};

void write_dataset(hid_t file, const char* name, byte_reader& in) {
  const int rank = 1 + in.u8() % 3;  // mostly 2; 1 and 3 are wrong ranks
  hsize_t dims[3], maxdims[3], chunk[3];
  const bool huge = in.u8() % 8 == 0;  // declared far beyond the data
  std::uint64_t total = 1;
  for (int r = 0; r < rank; ++r) {
    dims[r] = huge && r == 0 ? (in.u64(5) | 1) : in.u8() % 9;
    maxdims[r] = H5S_UNLIMITED;
    chunk[r] = 1 + in.u8() % 4;
    total = dims[r] ? total * dims[r] : 0;
  }
  static const hid_t* const types[] = {&H5T_NATIVE_FLOAT, &H5T_NATIVE_DOUBLE, &H5T_NATIVE_INT32, &H5T_NATIVE_INT8,
                                       &H5T_NATIVE_UINT64, &H5T_NATIVE_INT64, &H5T_NATIVE_UINT8};
  const hid_t type = *types[in.u8() % 7];
  const bool chunked = huge || in.u8() % 2;
  const hid_t space = H5Screate_simple(rank, dims, chunked ? maxdims : nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (chunked) {
    H5Pset_chunk(dcpl, rank, chunk);
    if (in.u8() % 2) H5Pset_deflate(dcpl, 1);
  }
  const hid_t ds = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (ds >= 0 && !huge && total > 0 && total <= 4096) {
    const std::size_t bytes = total * H5Tget_size(type);
    std::vector<std::uint8_t> values(bytes);
    for (auto& b : values) b = in.u8();
    H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  }
  if (ds >= 0) H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(space);
}

void write_described_file(const std::filesystem::path& path, byte_reader in) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0) return;
  const std::uint8_t present = in.u8();
  static const char* const names[] = {"train", "test", "neighbors", "distances"};
  for (int i = 0; i < 4; ++i)
    if (present & (1u << i)) write_dataset(file, names[i], in);
  if (present & 0x10) {
    static const char* const metrics[] = {"euclidean", "angular", "dot", "ip", "hamming", ""};
    std::string s = metrics[in.u8() % 6];
    if (present & 0x20) s.push_back(char(in.u8()));
    const hid_t st = H5Tcopy(H5T_C_S1);
    if (present & 0x40) H5Tset_size(st, H5T_VARIABLE);
    else H5Tset_size(st, s.size() + 1);
    const hid_t sp = H5Screate(H5S_SCALAR);
    const hid_t attr = H5Acreate2(file, "distance", st, sp, H5P_DEFAULT, H5P_DEFAULT);
    const char* cs = s.c_str();
    if (attr >= 0) {
      if (present & 0x40) H5Awrite(attr, st, &cs);
      else H5Awrite(attr, st, cs);
      H5Aclose(attr);
    }
    H5Sclose(sp);
    H5Tclose(st);
  }
  H5Fclose(file);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // libhdf5's error stack printing
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool raw = std::getenv("QTUNE_FUZZ_HDF5_RAW") != nullptr;
  std::filesystem::path path;
  if (raw) {
    path = qtune_fuzz::write_input(data, size, "in.hdf5");
  } else {
    path = qtune_fuzz::scratch_dir() / "in.hdf5";
    write_described_file(path, byte_reader{data, size});
    if (!std::filesystem::exists(path)) return 0;
  }
  qtune::read_options opt;
  opt.max_dim = 1u << 16;
  qtune_fuzz::expect_only_qtune_errors("read_vectors", [&] { qtune::read_vectors(path, opt); });
  qtune_fuzz::expect_only_qtune_errors("read_ids", [&] { qtune::read_ids(path, opt); });
  qtune_fuzz::expect_only_qtune_errors("read_ann_hdf5", [&] { qtune::read_ann_hdf5(path); });
  return 0;
}
