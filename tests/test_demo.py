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


def test_demo_unit_holds_one_released_example_case_marked_as_such(tmp_path, fast_config, recognizer):
    from device.demo import EXAMPLE_CASE, is_example
    from device.gallery import Gallery
    from device.workflow import Workflow

    def workflow(store):
        gallery = Gallery(store, recognizer, fast_config)
        return Workflow(store, gallery.audit, gallery, fast_config)

    store = ensure_demo(tmp_path / "demo", fast_config)
    [case] = workflow(store).case_list()
    assert (case["case"], case["example"]) == (EXAMPLE_CASE, True)
    [exam] = workflow(store).case_detail(EXAMPLE_CASE)["examinations"]
    assert exam["status"] == "released" and exam["review"]["verdict"] == "concur"
    assert is_example(EXAMPLE_CASE, store.meta()["device_id"]) and not is_example(EXAMPLE_CASE, "unit-7")
    again = ensure_demo(tmp_path / "demo", fast_config)
    assert len(workflow(again).case_list()) == 1, "made once"
