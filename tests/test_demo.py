from device.demo import DEMO_DEVICE_ID, ensure_demo


def test_demo_unit_is_made_once_with_its_own_key_and_a_small_gallery(tmp_path, fast_config):
    store = ensure_demo(tmp_path / "demo", fast_config)
    assert oct((tmp_path / "demo" / "key").stat().st_mode & 0o777) == "0o600"
    assert store.meta()["device_id"] == DEMO_DEVICE_ID
    counts = store.counts()
    assert (counts["subjects"], counts["face_images"], counts["embeddings"]) == (2, 3, 3)
    key = (tmp_path / "demo" / "key").read_bytes()
    again = ensure_demo(tmp_path / "demo", fast_config)
    assert (tmp_path / "demo" / "key").read_bytes() == key
    assert again.counts()["face_images"] == 3, "made once: a second start enrolls nothing"
