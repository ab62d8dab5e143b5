-- Face checks say where their image came from: live_call (a key frame the
-- server took from the customer's video while the call was recorded, after
-- consent) or upload (a photo a clerk uploaded: a comparison aid that never
-- meets a requirement). A live capture is located in the recording: the
-- call, the Seq of the customer's video segment and the frame's time in that
-- segment's file (ms). Checks recorded before this migration keep source ''
-- and count for nothing.
ALTER TABLE checks ADD COLUMN source TEXT NOT NULL DEFAULT '' CHECK (source IN ('', 'live_call', 'upload'));
ALTER TABLE checks ADD COLUMN call_id TEXT REFERENCES calls(id);
ALTER TABLE checks ADD COLUMN segment_seq INTEGER NOT NULL DEFAULT 0 CHECK (segment_seq >= 0);
ALTER TABLE checks ADD COLUMN media_ms INTEGER NOT NULL DEFAULT 0
	CHECK (media_ms >= 0 AND (source <> 'live_call' OR (call_id IS NOT NULL AND segment_seq >= 1)));
