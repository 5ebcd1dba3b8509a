CREATE TABLE "vm_daily_metrics" (
	"vm" text NOT NULL,
	"date" text NOT NULL,
	"cpu_sum_day" double precision NOT NULL,
	"cpu_count_day" integer NOT NULL,
	"mem_sum_day" double precision NOT NULL,
	"mem_count_day" integer NOT NULL,
	"cpu_peak" double precision NOT NULL,
	"mem_peak" double precision NOT NULL,
	"samples" integer NOT NULL,
	"disk_used_gb" double precision,
	"disk_alloc_gb" double precision,
	"disk_at" timestamp with time zone,
	CONSTRAINT "vm_daily_metrics_vm_date_pk" PRIMARY KEY("vm","date")
);
