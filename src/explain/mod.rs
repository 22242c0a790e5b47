//! Rendering an exec plan for people (text, stack diagram) and programs (JSON).
