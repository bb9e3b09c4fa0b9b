// HDF5 in the ann-benchmarks layout: 2-D datasets "train", "test" (float), "neighbors" (int),
// "distances" (float), and a file attribute "distance" (euclidean | angular | dot | ip).
#include <hdf5.h>

#include <algorithm>
#include <limits>

#include "dataset/dataset_impl.hpp"

namespace qtune::detail {

namespace {

/// Silences HDF5's automatic error printing while it lives (our errors say what went wrong).
class quiet_hdf5 {
 public:
  quiet_hdf5() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~quiet_hdf5() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

/// Closes an HDF5 handle with the matching close function.
struct h5_handle {
  hid_t id = -1;
  herr_t (*close)(hid_t) = nullptr;
  h5_handle(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  h5_handle(const h5_handle&) = delete;
  h5_handle& operator=(const h5_handle&) = delete;
  ~h5_handle() {
    if (id >= 0) close(id);
  }
  operator hid_t() const { return id; }
};

hid_t open_file(const std::filesystem::path& path) {
  QTUNE_CHECK(std::filesystem::exists(path), path.string(), ": cannot open: no such file");
  QTUNE_CHECK(std::filesystem::file_size(path) > 0, path.string(), ": file is empty (0 bytes)");
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  QTUNE_CHECK(f >= 0, path.string(), ": cannot open as HDF5 (not an HDF5 file or corrupt)");
  return f;
}

struct dataset_2d {
  std::size_t rows = 0, dim = 0;
  H5T_class_t cls = H5T_NO_CLASS;
  std::size_t elem_bytes = 0;  // stored element size
};

// deflate cannot expand data more than ~1032:1; a filtered dataset that declares more than this
// times its stored bytes is corrupt (or a decompression bomb).
constexpr std::uint64_t max_filter_ratio = 1100;

/// The declared shape comes from the file: before allocating rows * dim values, check that the
/// dataset really stores that many bytes (contiguous/compact: exactly; filtered chunks: within
/// max_filter_ratio). Unwritten chunks read as fill values; ann-benchmarks files have none.
void check_declared_size(const std::filesystem::path& path, hid_t ds, const std::string& name,
                         const dataset_2d& d) {
  const std::uint64_t rows = d.rows, dim = d.dim, elem = std::max<std::size_t>(d.elem_bytes, 1);
  QTUNE_CHECK(rows <= (std::uint64_t(1) << 62) / dim / std::max<std::uint64_t>(elem, 4), path.string(),
              ": dataset \"", name, "\" declares ", rows, " x ", dim, " values, more than this machine can address");
  const std::uint64_t need = rows * dim * elem;
  const std::uint64_t stored = H5Dget_storage_size(ds);
  h5_handle dcpl(H5Dget_create_plist(ds), H5Pclose);
  const int filters = dcpl >= 0 ? H5Pget_nfilters(dcpl) : 0;
  const std::uint64_t limit = filters > 0 ? stored * max_filter_ratio : stored;
  QTUNE_CHECK(need <= limit, path.string(), ": dataset \"", name, "\" declares ", rows, " x ", dim, " values (",
              need, " bytes) but stores ", stored, " bytes", filters > 0 ? " compressed" : "",
              " (corrupt, truncated or partly unwritten)");
}

dataset_2d inspect(const std::filesystem::path& path, hid_t ds, const std::string& name, const read_options& opt) {
  h5_handle space(H5Dget_space(ds), H5Sclose);
  QTUNE_CHECK(space >= 0, path.string(), ": dataset \"", name, "\": cannot read its dataspace");
  const int rank = H5Sget_simple_extent_ndims(space);
  QTUNE_CHECK(rank == 2, path.string(), ": dataset \"", name, "\" has rank ", rank, ", expected 2 (rows, dim)");
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(space, dims, nullptr);
  h5_handle type(H5Dget_type(ds), H5Tclose);
  dataset_2d d;
  d.rows = dims[0];
  d.dim = dims[1];
  d.cls = H5Tget_class(type);
  d.elem_bytes = H5Tget_size(type);
  check_dim(path, std::int64_t(d.dim), opt.max_dim, ("dataset \"" + name + "\"").c_str());
  QTUNE_CHECK(d.rows > 0, path.string(), ": dataset \"", name, "\" has 0 rows");
  if (opt.max_rows) d.rows = std::min<std::size_t>(d.rows, opt.max_rows);
  return d;
}

/// Reads the first d.rows rows of `name` converted to `mem_type`.
template <class T>
std::vector<T> read_rows(const std::filesystem::path& path, hid_t file, const std::string& name, hid_t mem_type,
                         H5T_class_t want, const read_options& opt, dataset_2d& d) {
  QTUNE_CHECK(H5Lexists(file, name.c_str(), H5P_DEFAULT) > 0, path.string(), ": no dataset \"", name,
              "\" in the HDF5 file (ann-benchmarks files have train, test, neighbors, distances)");
  h5_handle ds(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  QTUNE_CHECK(ds >= 0, path.string(), ": \"", name, "\" is not a dataset");
  d = inspect(path, ds, name, opt);
  QTUNE_CHECK(d.cls == want || (want == H5T_FLOAT && d.cls == H5T_INTEGER), path.string(), ": dataset \"", name,
              "\" has HDF5 type class ", int(d.cls), ", expected ", want == H5T_FLOAT ? "float" : "integer");
  check_declared_size(path, ds, name, d);
  std::vector<T> out(d.rows * d.dim);
  h5_handle fspace(H5Dget_space(ds), H5Sclose);
  const hsize_t start[2] = {0, 0}, count[2] = {d.rows, d.dim};
  H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, count, nullptr);
  h5_handle mspace(H5Screate_simple(2, count, nullptr), H5Sclose);
  QTUNE_CHECK(H5Dread(ds, mem_type, mspace, fspace, H5P_DEFAULT, out.data()) >= 0, path.string(),
              ": reading dataset \"", name, "\" failed (type conversion or corrupt data)");
  return out;
}

}  // namespace

vectors read_hdf5_vectors(const std::filesystem::path& path, const std::string& name, const read_options& opt) {
  quiet_hdf5 q;
  h5_handle file(open_file(path), H5Fclose);
  dataset_2d d;
  std::vector<float> v = read_rows<float>(path, file, name, H5T_NATIVE_FLOAT, H5T_FLOAT, opt, d);
  check_finite(path, {v.data(), d.rows, d.dim, d.dim}, opt.max_abs);
  return vectors_builder::heap(std::move(v), d.rows, d.dim);
}

int_matrix read_hdf5_ids(const std::filesystem::path& path, const std::string& name, const read_options& opt) {
  quiet_hdf5 q;
  h5_handle file(open_file(path), H5Fclose);
  dataset_2d d;
  int_matrix m;
  m.values = read_rows<std::int32_t>(path, file, name, H5T_NATIVE_INT32, H5T_INTEGER, opt, d);
  m.rows = d.rows;
  m.dim = d.dim;
  return m;
}

}  // namespace qtune::detail

namespace qtune {

using detail::h5_handle;

namespace {

std::string read_distance_attr(const std::filesystem::path& path, hid_t file) {
  QTUNE_CHECK(H5Aexists(file, "distance") > 0, path.string(), ": HDF5 file has no \"distance\" attribute");
  h5_handle attr(H5Aopen(file, "distance", H5P_DEFAULT), H5Aclose);
  h5_handle type(H5Aget_type(attr), H5Tclose);
  QTUNE_CHECK(H5Tget_class(type) == H5T_STRING, path.string(), ": attribute \"distance\" is not a string");
  if (H5Tis_variable_str(type) > 0) {
    char* s = nullptr;
    h5_handle mt(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5Tget_cset(type));
    QTUNE_CHECK(H5Aread(attr, mt, &s) >= 0 && s, path.string(), ": cannot read attribute \"distance\"");
    std::string out(s);
    H5free_memory(s);
    return out;
  }
  const std::size_t n = H5Tget_size(type);
  std::string out(n, '\0');
  QTUNE_CHECK(H5Aread(attr, type, out.data()) >= 0, path.string(), ": cannot read attribute \"distance\"");
  out.resize(std::strlen(out.c_str()));
  return out;
}

}  // namespace

ann_dataset read_ann_hdf5(const std::filesystem::path& path) {
  using namespace detail;
  ann_dataset ds;
  std::string dist;
  bool has_distances = false;
  {
    quiet_hdf5 q;
    h5_handle file(open_file(path), H5Fclose);
    dist = read_distance_attr(path, file);
    has_distances = H5Lexists(file, "distances", H5P_DEFAULT) > 0;
  }
  try {
    ds.distance = parse_metric(dist);
  } catch (const error& e) {
    fail(path.string(), ": attribute \"distance\": ", e.what());
  }
  ds.train = read_hdf5_vectors(path, "train", {});
  ds.test = read_hdf5_vectors(path, "test", {});
  QTUNE_CHECK(ds.test.dim() == ds.train.dim(), path.string(), ": \"test\" has dimension ", ds.test.dim(),
              ", expected ", ds.train.dim(), " (the dimension of \"train\")");
  ds.neighbors = read_hdf5_ids(path, "neighbors", {});
  QTUNE_CHECK(ds.neighbors.rows == ds.test.rows(), path.string(), ": \"neighbors\" has ", ds.neighbors.rows,
              " rows, expected ", ds.test.rows(), " (one per test vector)");
  if (has_distances) {
    read_options dopt;
    dopt.max_abs = std::numeric_limits<float>::max();  // distances, not vectors
    ds.distances = read_hdf5_vectors(path, "distances", dopt);
  }
  return ds;
}

namespace {

void write_2d(const std::filesystem::path& path, hid_t file, const char* name, hid_t file_type, hid_t mem_type,
              const void* data, std::size_t rows, std::size_t dim) {
  const hsize_t dims[2] = {rows, dim};
  h5_handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
  h5_handle ds(H5Dcreate2(file, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  QTUNE_CHECK(ds >= 0, path.string(), ": cannot create dataset \"", name, "\"");
  QTUNE_CHECK(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0, path.string(),
              ": cannot write dataset \"", name, "\"");
}

std::vector<float> contiguous(const vectors& v) {
  std::vector<float> out(v.rows() * v.dim());
  for (std::size_t i = 0; i < v.rows(); ++i) std::memcpy(out.data() + i * v.dim(), v.row(i), v.dim() * 4);
  return out;
}

}  // namespace

void write_ann_hdf5(const std::filesystem::path& path, const ann_dataset& ds) {
  using namespace detail;
  QTUNE_CHECK(ds.neighbors.values.size() == ds.neighbors.rows * ds.neighbors.dim, path.string(),
              ": neighbors holds ", ds.neighbors.values.size(), " values, expected rows * dim");
  atomic_file tmp(path);
  tmp.close_handle();
  {
    quiet_hdf5 q;
    h5_handle file(H5Fcreate(tmp.temp_path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    QTUNE_CHECK(file >= 0, path.string(), ": cannot create HDF5 file ", tmp.temp_path().string());
    const std::vector<float> train = contiguous(ds.train), test = contiguous(ds.test);
    write_2d(path, file, "train", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, train.data(), ds.train.rows(), ds.train.dim());
    write_2d(path, file, "test", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, test.data(), ds.test.rows(), ds.test.dim());
    write_2d(path, file, "neighbors", H5T_STD_I32LE, H5T_NATIVE_INT32, ds.neighbors.values.data(), ds.neighbors.rows,
             ds.neighbors.dim);
    if (ds.distances) {
      const std::vector<float> d = contiguous(*ds.distances);
      write_2d(path, file, "distances", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, d.data(), ds.distances->rows(),
               ds.distances->dim());
    }
    // ann-benchmarks names: euclidean / angular / dot (h5py writes a variable-length string).
    const char* name = ds.distance == metric::l2 ? "euclidean" : ds.distance == metric::cosine ? "angular" : "dot";
    h5_handle st(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(st, H5T_VARIABLE);
    H5Tset_cset(st, H5T_CSET_UTF8);
    h5_handle sp(H5Screate(H5S_SCALAR), H5Sclose);
    h5_handle attr(H5Acreate2(file, "distance", st, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    QTUNE_CHECK(attr >= 0 && H5Awrite(attr, st, &name) >= 0, path.string(), ": cannot write attribute \"distance\"");
  }
  tmp.commit();
}

}  // namespace qtune
