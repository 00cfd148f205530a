"""Video analytics for the camera worker: pure functions of frames and time."""
