"""The repair (维修): a technician's steps on a job they hold, from the first call to completion."""
