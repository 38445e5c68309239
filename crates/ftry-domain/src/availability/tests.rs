use chrono::{NaiveTime, Weekday};
use chrono_tz::America::New_York;
use chrono_tz::Asia::Kolkata;
use chrono_tz::Europe::London;
use proptest::prelude::*;

use super::oracle::Oracle;
use super::*;

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];
const HAIRCUT: u128 = 0x51;
const BLOW_DRY: u128 = 0x52;
const COLOUR: u128 = 0x53;
const ROOM: u128 = 0x71;
const ASHA: u128 = 0xa1;
const BINA: u128 = 0xb1;
/// A Monday.
const SALON_DAY: &str = "2027-06-14";

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn wall(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn utc(text: &str) -> DateTime<Utc> {
    wall(text).and_utc()
}

fn local(zone: Tz, text: &str) -> DateTime<Utc> {
    start_instant(zone, wall(text)).unwrap()
}

fn daily(start: &str, end: &str) -> Vec<WallInterval> {
    let time = |text: &str| NaiveTime::parse_from_str(text, "%H:%M").unwrap();
    WEEK.iter()
        .map(|&weekday| WallInterval {
            weekday,
            start: time(start),
            end: time(end),
        })
        .collect()
}

fn interval(zone: Tz, start: &str, end: &str) -> Interval {
    Interval {
        start: local(zone, start),
        end: local(zone, end),
    }
}

fn service(n: u128, minutes: u32) -> Service {
    Service {
        id: id(n),
        duration_minutes: minutes,
        buffer_before_minutes: 0,
        buffer_after_minutes: 0,
        processing_gap: None,
        resource_type_id: None,
    }
}

fn stylist(n: u128, services: &[u128]) -> StaffMember {
    StaffMember {
        id: id(n),
        display_order: 0,
        active: true,
        working_hours: daily("10:00", "18:00"),
        breaks: Vec::new(),
        time_off: Vec::new(),
        busy: Vec::new(),
        services: services
            .iter()
            .map(|&service| StaffService {
                service_id: id(service),
                duration_minutes: None,
            })
            .collect(),
    }
}

fn room(n: u128, capacity: u32) -> Resource {
    Resource {
        id: id(n),
        resource_type_id: id(ROOM),
        display_order: 0,
        capacity,
        usage: Vec::new(),
    }
}

fn salon(zone: Tz, services: Vec<Service>, staff: Vec<StaffMember>) -> Schedule {
    Schedule {
        zone,
        rules: BookingRules::default(),
        opening_hours: daily("10:00", "19:00"),
        closures: Vec::new(),
        services,
        staff,
        resources: Vec::new(),
    }
}

/// Opening 10:00–19:00; Asha works 10:00–18:00 with lunch 13:00–14:00 and
/// does a 45-minute haircut with 15 minutes to clean up after.
fn simple_day() -> Schedule {
    let mut haircut = service(HAIRCUT, 45);
    haircut.buffer_after_minutes = 15;
    let mut asha = stylist(ASHA, &[HAIRCUT]);
    asha.breaks = daily("13:00", "14:00");
    salon(Kolkata, vec![haircut], vec![asha])
}

fn visit(first: &str, last: &str, items: &[(u128, Option<u128>)]) -> SlotRequest {
    SlotRequest {
        items: items
            .iter()
            .map(|&(service, staff)| RequestedItem {
                service_id: id(service),
                staff_id: staff.map(id),
            })
            .collect(),
        first_date: date(first),
        last_date: date(last),
    }
}

fn one_day(items: &[(u128, Option<u128>)]) -> SlotRequest {
    visit(SALON_DAY, SALON_DAY, items)
}

fn the_evening_before() -> DateTime<Utc> {
    local(Kolkata, "2027-06-13 20:00")
}

fn slots(schedule: &Schedule, request: &SlotRequest, now: DateTime<Utc>) -> Vec<Slot> {
    find_slots(schedule, request, now).unwrap()
}

/// Local start times, "HH:MM".
fn starts(slots: &[Slot]) -> Vec<String> {
    slots
        .iter()
        .map(|slot| slot.local_start.format("%H:%M").to_string())
        .collect()
}

/// "HH:MM" every `step` minutes from `first` to `last`, inclusive.
fn every(step: usize, first: &str, last: &str) -> Vec<String> {
    let time = |text: &str| NaiveTime::parse_from_str(text, "%H:%M").unwrap();
    let (first, last) = (time(first), time(last));
    std::iter::successors(Some(first), |at| Some(*at + TimeDelta::minutes(step as i64)))
        .take_while(|at| *at <= last)
        .map(|at| at.format("%H:%M").to_string())
        .collect()
}

fn slot_at<'a>(slots: &'a [Slot], local_start: &str) -> &'a Slot {
    slots
        .iter()
        .find(|slot| slot.local_start.format("%H:%M").to_string() == local_start)
        .unwrap_or_else(|| panic!("no slot at {local_start}"))
}

fn staff_of(slot: &Slot) -> Vec<Uuid> {
    slot.items.iter().map(|item| item.staff_id).collect()
}

#[test]
fn a_simple_day_offers_every_start_the_stylist_can_finish_with_cleanup() {
    let found = slots(&simple_day(), &one_day(&[(HAIRCUT, None)]), the_evening_before());
    assert_eq!(
        starts(&found),
        [every(15, "10:00", "12:00"), every(15, "14:00", "17:00")].concat()
    );
    let first = &found[0];
    assert_eq!(
        first.start,
        utc("2027-06-14 04:30"),
        "Kolkata is UTC+05:30 all year"
    );
    assert_eq!(
        first.items,
        vec![Assignment {
            service_id: id(HAIRCUT),
            staff_id: id(ASHA),
            resource_id: None,
            start: utc("2027-06-14 04:30"),
            end: utc("2027-06-14 05:15"),
        }]
    );
}

#[test]
fn minimum_notice_hides_starts_too_soon() {
    let mut schedule = simple_day();
    schedule.rules.min_notice_minutes = 60;
    let found = slots(
        &schedule,
        &one_day(&[(HAIRCUT, None)]),
        local(Kolkata, "2027-06-14 10:50"),
    );
    assert_eq!(
        starts(&found),
        [every(15, "12:00", "12:00"), every(15, "14:00", "17:00")].concat()
    );
}

#[test]
fn a_start_exactly_at_now_plus_notice_is_offered() {
    let mut schedule = simple_day();
    schedule.rules.min_notice_minutes = 60;
    let found = slots(
        &schedule,
        &one_day(&[(HAIRCUT, None)]),
        local(Kolkata, "2027-06-14 10:00"),
    );
    assert_eq!(starts(&found)[0], "11:00");
    let found = slots(
        &schedule,
        &one_day(&[(HAIRCUT, None)]),
        local(Kolkata, "2027-06-14 10:00") + TimeDelta::microseconds(1),
    );
    assert_eq!(starts(&found)[0], "11:15");
}

#[test]
fn a_closed_day_offers_nothing_and_the_next_day_is_open() {
    let mut schedule = simple_day();
    schedule.closures = vec![DateRange {
        first: date("2027-06-10"),
        last: date(SALON_DAY),
    }];
    let found = slots(
        &schedule,
        &visit(SALON_DAY, "2027-06-15", &[(HAIRCUT, None)]),
        the_evening_before(),
    );
    assert!(found
        .iter()
        .all(|slot| slot.local_start.date() == date("2027-06-15")));
    assert_eq!(found.len(), 22);
}

#[test]
fn dates_beyond_max_days_ahead_offer_nothing() {
    let mut schedule = simple_day();
    schedule.rules.max_days_ahead = 1;
    let found = slots(
        &schedule,
        &visit("2027-06-13", "2027-06-20", &[(HAIRCUT, None)]),
        the_evening_before(),
    );
    assert!(found
        .iter()
        .all(|slot| slot.local_start.date() == date(SALON_DAY)));
    assert_eq!(found.len(), 22);

    let later = slots(
        &schedule,
        &visit("2027-06-15", "2027-06-20", &[(HAIRCUT, None)]),
        the_evening_before(),
    );
    assert_eq!(later, vec![]);
}

#[test]
fn the_stylists_own_duration_replaces_the_services() {
    let mut schedule = simple_day();
    schedule.staff[0].services[0].duration_minutes = Some(60);
    let found = slots(&schedule, &one_day(&[(HAIRCUT, None)]), the_evening_before());
    assert_eq!(
        starts(&found),
        [every(15, "10:00", "11:45"), every(15, "14:00", "16:45")].concat()
    );
    let item = &found[0].items[0];
    assert_eq!(item.end - item.start, TimeDelta::minutes(60));
}

/// Asha is colouring someone 10:00–11:00 in room 1; the colour develops
/// 10:15–10:45, when she is free.
fn colour_in_progress(rooms: u32) -> Schedule {
    let mut colour = service(COLOUR, 60);
    colour.processing_gap = Some(ProcessingGap {
        offset_minutes: 15,
        length_minutes: 30,
    });
    colour.resource_type_id = Some(id(ROOM));
    let mut asha = stylist(ASHA, &[COLOUR, BLOW_DRY]);
    asha.busy = vec![
        interval(Kolkata, "2027-06-14 10:00", "2027-06-14 10:15"),
        interval(Kolkata, "2027-06-14 10:45", "2027-06-14 11:00"),
    ];
    let mut schedule = salon(Kolkata, vec![colour, service(BLOW_DRY, 30)], vec![asha]);
    schedule.resources = (1..=rooms).map(|n| room(n.into(), 1)).collect();
    schedule.resources[0].usage = vec![ResourceUsage {
        interval: interval(Kolkata, "2027-06-14 10:00", "2027-06-14 11:00"),
        units: 1,
    }];
    schedule
}

#[test]
fn a_processing_gap_lets_the_stylist_take_another_client() {
    let found = slots(
        &colour_in_progress(1),
        &one_day(&[(BLOW_DRY, None)]),
        the_evening_before(),
    );
    assert_eq!(starts(&found)[..3], ["10:15", "11:00", "11:15"]);
}

#[test]
fn during_a_processing_gap_the_room_stays_taken() {
    let found = slots(
        &colour_in_progress(1),
        &one_day(&[(COLOUR, None)]),
        the_evening_before(),
    );
    assert_eq!(starts(&found)[0], "11:00");

    let with_a_second_room = slots(
        &colour_in_progress(2),
        &one_day(&[(COLOUR, None)]),
        the_evening_before(),
    );
    let at_gap = slot_at(&with_a_second_room, "10:15");
    assert_eq!(at_gap.items[0].resource_id, Some(id(2)));
}

#[test]
fn during_a_processing_gap_the_client_stays_busy() {
    let found = slots(
        &colour_in_progress(1),
        &one_day(&[(COLOUR, None), (BLOW_DRY, None)]),
        the_evening_before(),
    );
    let visit = slot_at(&found, "11:00");
    assert_eq!(visit.items[0].end, local(Kolkata, "2027-06-14 12:00"));
    assert_eq!(visit.items[1].start, visit.items[0].end);
}

#[test]
fn a_new_booking_can_wrap_its_processing_gap_around_existing_work() {
    let mut schedule = colour_in_progress(2);
    schedule.staff[0].busy = vec![interval(Kolkata, "2027-06-14 12:20", "2027-06-14 12:40")];
    let found = slots(&schedule, &one_day(&[(COLOUR, None)]), the_evening_before());
    assert!(starts(&found).contains(&"12:00".to_owned()));
    assert!(!starts(&found).contains(&"12:15".to_owned()));
}

#[test]
fn staff_occupancy_is_the_client_time_with_buffers_minus_the_processing_gap() {
    let mut colour = colour_in_progress(1).services[0].clone();
    colour.buffer_before_minutes = 5;
    colour.buffer_after_minutes = 10;
    let assignment = Assignment {
        service_id: colour.id,
        staff_id: id(ASHA),
        resource_id: Some(id(1)),
        start: local(Kolkata, "2027-06-14 10:00"),
        end: local(Kolkata, "2027-06-14 11:00"),
    };
    assert_eq!(
        staff_occupancy(&colour, &assignment),
        [
            interval(Kolkata, "2027-06-14 09:55", "2027-06-14 10:15"),
            interval(Kolkata, "2027-06-14 10:45", "2027-06-14 11:10"),
        ]
    );
    colour.processing_gap = None;
    assert_eq!(
        staff_occupancy(&colour, &assignment),
        [interval(Kolkata, "2027-06-14 09:55", "2027-06-14 11:10")]
    );
}

#[test]
fn a_visit_is_searched_as_a_whole_not_item_by_item() {
    // Asha is preferred but takes an hour for the haircut; then only she does
    // the blow-dry, and the salon closes at 11:00. Bina must do the haircut.
    let mut asha = stylist(ASHA, &[HAIRCUT, BLOW_DRY]);
    asha.services[0].duration_minutes = Some(60);
    let mut bina = stylist(BINA, &[HAIRCUT]);
    bina.display_order = 1;
    let mut schedule = salon(
        Kolkata,
        vec![service(HAIRCUT, 30), service(BLOW_DRY, 30)],
        vec![asha, bina],
    );
    schedule.opening_hours = daily("10:00", "11:00");
    let found = slots(
        &schedule,
        &one_day(&[(HAIRCUT, None), (BLOW_DRY, None)]),
        the_evening_before(),
    );
    assert_eq!(starts(&found), ["10:00"]);
    assert_eq!(staff_of(&found[0]), [id(BINA), id(ASHA)]);
}

#[test]
fn any_staff_prefers_the_fewest_booked_minutes_that_day() {
    let mut asha = stylist(ASHA, &[HAIRCUT]);
    asha.busy = vec![interval(Kolkata, "2027-06-14 17:00", "2027-06-14 18:00")];
    let mut bina = stylist(BINA, &[HAIRCUT]);
    bina.display_order = 1;
    bina.busy = vec![
        interval(Kolkata, "2027-06-13 10:00", "2027-06-13 18:00"),
        interval(Kolkata, "2027-06-14 16:30", "2027-06-14 17:00"),
    ];
    let schedule = salon(Kolkata, vec![service(HAIRCUT, 30)], vec![asha, bina]);
    let found = slots(&schedule, &one_day(&[(HAIRCUT, None)]), the_evening_before());
    assert_eq!(
        staff_of(slot_at(&found, "10:00")),
        [id(BINA)],
        "30 booked minutes beat 60"
    );
    assert_eq!(
        staff_of(slot_at(&found, "16:30")),
        [id(ASHA)],
        "the other when Bina is busy"
    );
}

#[test]
fn any_staff_ties_go_to_display_order_then_id() {
    let mut bina = stylist(BINA, &[HAIRCUT]);
    bina.display_order = 1;
    let asha = stylist(ASHA, &[HAIRCUT]);
    let schedule = salon(
        Kolkata,
        vec![service(HAIRCUT, 30)],
        vec![bina.clone(), asha.clone()],
    );
    let found = slots(&schedule, &one_day(&[(HAIRCUT, None)]), the_evening_before());
    assert_eq!(staff_of(&found[0]), [id(ASHA)], "lower display order");

    bina.display_order = 0;
    let schedule = salon(Kolkata, vec![service(HAIRCUT, 30)], vec![bina, asha]);
    let found = slots(&schedule, &one_day(&[(HAIRCUT, None)]), the_evening_before());
    assert_eq!(staff_of(&found[0]), [id(ASHA)], "lower id");
}

#[test]
fn a_preferred_stylist_is_the_only_one_tried() {
    let asha = stylist(ASHA, &[HAIRCUT]);
    let mut bina = stylist(BINA, &[HAIRCUT]);
    bina.working_hours = daily("15:00", "18:00");
    let schedule = salon(Kolkata, vec![service(HAIRCUT, 30)], vec![asha, bina]);
    let found = slots(
        &schedule,
        &one_day(&[(HAIRCUT, Some(BINA))]),
        the_evening_before(),
    );
    assert_eq!(starts(&found), every(15, "15:00", "17:30"));
    assert!(found.iter().all(|slot| staff_of(slot) == [id(BINA)]));
}

fn facial_salon(rooms: Vec<Resource>) -> Schedule {
    let mut facial = service(COLOUR, 60);
    facial.resource_type_id = Some(id(ROOM));
    let staff = vec![stylist(ASHA, &[COLOUR]), stylist(BINA, &[COLOUR])];
    let mut schedule = salon(Kolkata, vec![facial], staff);
    schedule.opening_hours = daily("10:00", "12:00");
    schedule.resources = rooms;
    schedule
}

fn usage(start: &str, end: &str, units: u32) -> ResourceUsage {
    ResourceUsage {
        interval: interval(
            Kolkata,
            &format!("{SALON_DAY} {start}"),
            &format!("{SALON_DAY} {end}"),
        ),
        units,
    }
}

#[test]
fn a_room_of_capacity_one_holds_one_client() {
    let mut single = room(1, 1);
    single.usage = vec![usage("10:00", "10:30", 1)];
    let found = slots(
        &facial_salon(vec![single]),
        &one_day(&[(COLOUR, None)]),
        the_evening_before(),
    );
    assert_eq!(starts(&found), every(15, "10:30", "11:00"));
}

#[test]
fn a_resource_of_capacity_two_holds_two_clients() {
    let mut double = room(1, 2);
    double.usage = vec![usage("10:00", "10:30", 1), usage("10:15", "11:00", 1)];
    let found = slots(
        &facial_salon(vec![double]),
        &one_day(&[(COLOUR, None)]),
        the_evening_before(),
    );
    assert_eq!(starts(&found), every(15, "10:30", "11:00"), "10:15–10:30 is full");

    let mut double = room(1, 2);
    double.usage = vec![usage("10:00", "11:00", 1)];
    let found = slots(
        &facial_salon(vec![double]),
        &one_day(&[(COLOUR, None)]),
        the_evening_before(),
    );
    assert_eq!(starts(&found), every(15, "10:00", "11:00"));
}

#[test]
fn the_first_free_resource_by_display_order_then_id_is_chosen() {
    let mut second = room(1, 1);
    second.display_order = 2;
    let (third, fourth) = (room(3, 1), room(2, 1));
    let mut taken = room(0, 1);
    taken.usage = vec![usage("10:00", "12:00", 1)];
    let found = slots(
        &facial_salon(vec![second, third, fourth, taken]),
        &one_day(&[(COLOUR, None)]),
        the_evening_before(),
    );
    assert_eq!(found[0].items[0].resource_id, Some(id(2)));
}

#[test]
fn a_resource_of_another_type_does_not_count() {
    let mut chair = room(1, 1);
    chair.resource_type_id = id(0x72);
    let found = slots(
        &facial_salon(vec![chair]),
        &one_day(&[(COLOUR, None)]),
        the_evening_before(),
    );
    assert_eq!(found, vec![]);
}

/// Open, and staffed, from midnight to 06:00 every day, around a DST change.
fn night_salon(zone: Tz, minutes: u32) -> Schedule {
    let mut night_owl = stylist(ASHA, &[HAIRCUT]);
    night_owl.working_hours = daily("00:00", "06:00");
    let mut schedule = salon(zone, vec![service(HAIRCUT, minutes)], vec![night_owl]);
    schedule.opening_hours = daily("00:00", "06:00");
    schedule
}

fn slots_on(schedule: &Schedule, day: &str) -> Vec<Slot> {
    let now = utc(&format!("{day} 00:00")) - TimeDelta::days(1);
    slots(schedule, &visit(day, day, &[(HAIRCUT, None)]), now)
}

#[test]
fn new_york_spring_forward_never_offers_the_missing_hour() {
    let found = slots_on(&night_salon(New_York, 15), "2027-03-14");
    assert_eq!(
        starts(&found),
        [every(15, "00:00", "01:45"), every(15, "03:00", "05:45")].concat()
    );
    assert_eq!(slot_at(&found, "03:00").start, utc("2027-03-14 07:00"));
}

#[test]
fn new_york_spring_forward_a_90_minute_service_from_0130_ends_at_0400() {
    let found = slots_on(&night_salon(New_York, 90), "2027-03-14");
    let item = slot_at(&found, "01:30").items[0];
    assert_eq!(item.start, utc("2027-03-14 06:30"));
    assert_eq!(item.end, utc("2027-03-14 08:00"));
    assert_eq!(
        item.end.with_timezone(&New_York).naive_local(),
        wall("2027-03-14 04:00")
    );
    assert_eq!(
        starts(&found).last().unwrap(),
        "04:30",
        "the five-hour night ends at 06:00 EDT"
    );
}

#[test]
fn new_york_fall_back_offers_0130_once_as_daylight_time() {
    let found = slots_on(&night_salon(New_York, 15), "2027-11-07");
    assert_eq!(starts(&found), every(15, "00:00", "05:45"));
    assert_eq!(slot_at(&found, "01:30").start, utc("2027-11-07 05:30"));
    assert!(found.windows(2).all(|pair| pair[0].start < pair[1].start));
}

#[test]
fn new_york_fall_back_the_seven_hour_night_is_all_bookable() {
    let found = slots_on(&night_salon(New_York, 7 * 60), "2027-11-07");
    assert_eq!(starts(&found), ["00:00"]);
    assert_eq!(found[0].items[0].end, utc("2027-11-07 11:00"));
}

#[test]
fn london_spring_forward_never_offers_the_missing_hour() {
    let found = slots_on(&night_salon(London, 15), "2027-03-28");
    assert_eq!(
        starts(&found),
        [every(15, "00:00", "00:45"), every(15, "02:00", "05:45")].concat()
    );
    assert_eq!(slot_at(&found, "02:00").start, utc("2027-03-28 01:00"));
}

#[test]
fn london_fall_back_offers_0130_once_as_summer_time() {
    let found = slots_on(&night_salon(London, 15), "2027-10-31");
    assert_eq!(starts(&found), every(15, "00:00", "05:45"));
    assert_eq!(slot_at(&found, "01:30").start, utc("2027-10-31 00:30"));
}

#[test]
fn a_nine_to_six_day_is_nine_hours_on_23_and_25_hour_days() {
    for (zone, day, nine) in [
        (London, "2027-03-28", "2027-03-28 08:00"),
        (London, "2027-10-31", "2027-10-31 09:00"),
        (New_York, "2027-03-14", "2027-03-14 13:00"),
        (New_York, "2027-11-07", "2027-11-07 14:00"),
        (Kolkata, "2027-03-14", "2027-03-14 03:30"),
    ] {
        let mut schedule = night_salon(zone, 9 * 60);
        schedule.opening_hours = daily("09:00", "18:00");
        schedule.staff[0].working_hours = daily("09:00", "18:00");
        let found = slots_on(&schedule, day);
        assert_eq!(starts(&found), ["09:00"], "{zone} {day}");
        assert_eq!(found[0].start, utc(nine), "{zone} {day}");
    }
}

#[test]
fn hours_past_midnight_join_the_next_day() {
    let mut schedule = night_salon(Kolkata, 120);
    schedule.opening_hours = daily("22:00", "00:00");
    schedule.opening_hours.extend(daily("00:00", "01:00"));
    schedule.staff[0].working_hours = daily("22:00", "01:00");
    let found = slots_on(&schedule, SALON_DAY);
    assert_eq!(starts(&found), every(15, "22:00", "23:00"));
}

fn proposed(start: VisitStart, items: &[(u128, u128, Option<u128>)]) -> ProposedVisit {
    ProposedVisit {
        start,
        items: items
            .iter()
            .map(|&(service, staff, resource)| ProposedItem {
                service_id: id(service),
                staff_id: id(staff),
                resource_id: resource.map(id),
            })
            .collect(),
    }
}

#[test]
fn validate_accepts_what_find_slots_offers() {
    let schedule = colour_in_progress(2);
    let request = one_day(&[(COLOUR, None), (BLOW_DRY, Some(ASHA))]);
    let found = slots(&schedule, &request, the_evening_before());
    assert!(!found.is_empty());
    for slot in found {
        let visit = ProposedVisit {
            start: VisitStart::At(slot.start),
            items: slot
                .items
                .iter()
                .map(|item| ProposedItem {
                    service_id: item.service_id,
                    staff_id: item.staff_id,
                    resource_id: item.resource_id,
                })
                .collect(),
        };
        assert_eq!(validate_visit(&schedule, &visit, the_evening_before()), Ok(slot));
    }
}

#[test]
fn validate_says_what_is_wrong() {
    let mut schedule = colour_in_progress(2);
    schedule.rules.max_days_ahead = 30;
    schedule.rules.min_notice_minutes = 60;
    schedule.closures = vec![DateRange {
        first: date("2027-06-20"),
        last: date("2027-06-20"),
    }];
    let mut inactive = stylist(BINA, &[BLOW_DRY]);
    inactive.active = false;
    schedule.staff.push(inactive);
    let at = |text: &str| VisitStart::Wall(wall(text));
    let ok = at("2027-06-14 12:00");
    let now = the_evening_before();
    let cases: Vec<(ProposedVisit, VisitError)> = vec![
        (proposed(ok, &[]), VisitError::EmptyVisit),
        (
            proposed(ok, &[(BLOW_DRY, ASHA, None); 21]),
            VisitError::TooManyItems,
        ),
        (
            proposed(ok, &[(HAIRCUT, ASHA, None)]),
            VisitError::UnknownService { item: 0 },
        ),
        (
            proposed(ok, &[(BLOW_DRY, ASHA, None), (BLOW_DRY, 0xff, None)]),
            VisitError::UnknownStaff { item: 1 },
        ),
        (
            proposed(ok, &[(BLOW_DRY, BINA, None)]),
            VisitError::StaffInactive { item: 0 },
        ),
        (
            proposed(ok, &[(COLOUR, BINA, Some(1))]),
            VisitError::StaffInactive { item: 0 },
        ),
        (
            proposed(at("2027-06-14 09:00"), &[(BLOW_DRY, ASHA, None)]),
            VisitError::OutsideOpeningHours { item: 0 },
        ),
        (
            proposed(at("2027-06-14 18:50"), &[(BLOW_DRY, ASHA, None)]),
            VisitError::OutsideOpeningHours { item: 0 },
        ),
        (
            proposed(at("2027-06-14 10:10"), &[(BLOW_DRY, ASHA, None)]),
            VisitError::StaffUnavailable { item: 0 },
        ),
        (
            proposed(
                at("2027-06-14 17:30"),
                &[(BLOW_DRY, ASHA, None), (BLOW_DRY, ASHA, None)],
            ),
            VisitError::StaffUnavailable { item: 1 },
        ),
        (
            proposed(ok, &[(COLOUR, ASHA, None)]),
            VisitError::ResourceMissing { item: 0 },
        ),
        (
            proposed(ok, &[(COLOUR, ASHA, Some(9))]),
            VisitError::ResourceWrongLocationOrType { item: 0 },
        ),
        (
            proposed(ok, &[(BLOW_DRY, ASHA, Some(1))]),
            VisitError::ResourceWrongLocationOrType { item: 0 },
        ),
        (
            proposed(at("2027-06-14 10:20"), &[(COLOUR, ASHA, Some(1))]),
            VisitError::ResourceUnavailable { item: 0 },
        ),
        (
            proposed(at("2027-06-13 20:30"), &[(BLOW_DRY, ASHA, None)]),
            VisitError::TooSoon,
        ),
        (
            proposed(at("2027-07-14 12:00"), &[(BLOW_DRY, ASHA, None)]),
            VisitError::TooFarAhead,
        ),
        (
            proposed(at("2027-06-20 12:00"), &[(BLOW_DRY, ASHA, None)]),
            VisitError::ClosedDay,
        ),
    ];
    for (visit, error) in cases {
        assert_eq!(validate_visit(&schedule, &visit, now), Err(error), "{visit:?}");
    }
    assert!(validate_visit(&schedule, &proposed(ok, &[(COLOUR, ASHA, Some(2))]), now).is_ok());
}

#[test]
fn validate_refuses_a_wall_time_the_clock_skips() {
    let schedule = night_salon(New_York, 15);
    let visit = proposed(
        VisitStart::Wall(wall("2027-03-14 02:30")),
        &[(HAIRCUT, ASHA, None)],
    );
    assert_eq!(
        validate_visit(&schedule, &visit, utc("2027-03-13 00:00")),
        Err(VisitError::InDstGap)
    );
}

#[test]
fn validate_takes_a_repeated_wall_time_as_its_first_occurrence_and_accepts_the_second_as_an_instant() {
    let schedule = night_salon(New_York, 15);
    let now = utc("2027-11-06 00:00");
    let first = validate_visit(
        &schedule,
        &proposed(
            VisitStart::Wall(wall("2027-11-07 01:30")),
            &[(HAIRCUT, ASHA, None)],
        ),
        now,
    )
    .unwrap();
    assert_eq!(first.start, utc("2027-11-07 05:30"));
    let second = validate_visit(
        &schedule,
        &proposed(VisitStart::At(utc("2027-11-07 06:30")), &[(HAIRCUT, ASHA, None)]),
        now,
    )
    .unwrap();
    assert_eq!(second.local_start, wall("2027-11-07 01:30"));
}

#[test]
fn requests_that_make_no_sense_are_errors() {
    let mut schedule = simple_day();
    let mut inactive = stylist(BINA, &[HAIRCUT]);
    inactive.active = false;
    schedule.staff.push(inactive);
    schedule.services.push(service(BLOW_DRY, 20));
    let now = the_evening_before();
    let cases = [
        (one_day(&[]), VisitError::EmptyVisit),
        (one_day(&[(HAIRCUT, None); 21]), VisitError::TooManyItems),
        (one_day(&[(0x99, None)]), VisitError::UnknownService { item: 0 }),
        (
            one_day(&[(HAIRCUT, None), (HAIRCUT, Some(0x99))]),
            VisitError::UnknownStaff { item: 1 },
        ),
        (
            one_day(&[(HAIRCUT, Some(BINA))]),
            VisitError::StaffInactive { item: 0 },
        ),
        (
            one_day(&[(BLOW_DRY, Some(ASHA))]),
            VisitError::StaffDoesNotPerform { item: 0 },
        ),
        (
            visit(SALON_DAY, "2027-08-15", &[(HAIRCUT, None)]),
            VisitError::RangeTooLong,
        ),
    ];
    for (request, error) in cases {
        assert_eq!(find_slots(&schedule, &request, now), Err(error), "{request:?}");
    }
    assert_eq!(
        slots(&schedule, &one_day(&[(BLOW_DRY, None)]), now),
        vec![],
        "nobody does it"
    );
    assert_eq!(
        slots(
            &schedule,
            &visit(SALON_DAY, "2027-06-13", &[(HAIRCUT, None)]),
            now
        ),
        vec![]
    );
}

#[test]
fn extreme_dates_and_numbers_do_not_panic() {
    for zone in [New_York, Kolkata] {
        let mut schedule = night_salon(zone, u32::MAX);
        schedule.services.push(service(BLOW_DRY, 30));
        schedule.staff[0].services.push(StaffService {
            service_id: id(BLOW_DRY),
            duration_minutes: None,
        });
        schedule.services[1].buffer_before_minutes = u32::MAX;
        schedule.rules = BookingRules {
            min_notice_minutes: u32::MAX,
            max_days_ahead: u32::MAX,
            step_minutes: 0,
        };
        let edges = [
            (NaiveDate::MIN, NaiveDate::MIN + Days::new(3)),
            (NaiveDate::MAX - Days::new(3), NaiveDate::MAX),
        ];
        for now in [
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            utc("2027-03-14 00:00"),
        ] {
            for (first_date, last_date) in edges {
                let request = SlotRequest {
                    first_date,
                    last_date,
                    ..visit(SALON_DAY, SALON_DAY, &[(HAIRCUT, None), (BLOW_DRY, None)])
                };
                assert!(find_slots(&schedule, &request, now).is_ok());
            }
            for start in [
                VisitStart::At(DateTime::<Utc>::MAX_UTC),
                VisitStart::At(DateTime::<Utc>::MIN_UTC),
                VisitStart::Wall(NaiveDateTime::MAX),
                VisitStart::Wall(NaiveDateTime::MIN),
            ] {
                let visit = proposed(start, &[(HAIRCUT, ASHA, None), (BLOW_DRY, ASHA, None)]);
                assert!(validate_visit(&schedule, &visit, now).is_err());
            }
        }
        schedule.rules.min_notice_minutes = 0;
        let request = visit("2027-03-13", "2027-03-15", &[(BLOW_DRY, None)]);
        assert_eq!(slots(&schedule, &request, utc("2027-03-13 00:00")), vec![]);
    }
}

/// A deterministic stream of numbers, for the large input.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % bound
    }
}

/// One location with 20 staff, 60 services, 4 rooms and 5,000 busy intervals
/// over 14 days.
pub(super) fn large_location() -> Schedule {
    let mut random = SplitMix(7);
    let day_one = local(Kolkata, "2027-06-14 00:00");
    let minutes_in = |random: &mut SplitMix, days: u64| {
        day_one + TimeDelta::minutes(random.below(days * 1440) as i64 / 5 * 5)
    };
    let services: Vec<Service> = (0..60)
        .map(|n| Service {
            id: id(0x5000 + n),
            duration_minutes: 15 + 15 * random.below(8) as u32,
            buffer_before_minutes: 5 * random.below(2) as u32,
            buffer_after_minutes: 5 * random.below(4) as u32,
            processing_gap: (n % 7 == 0).then_some(ProcessingGap {
                offset_minutes: 15,
                length_minutes: 15,
            }),
            resource_type_id: (n % 5 == 0).then_some(id(ROOM)),
        })
        .collect();
    let mut staff: Vec<StaffMember> = (0..20)
        .map(|n| {
            let mut member = stylist(0xa000 + n, &[]);
            member.display_order = (n % 4) as i32;
            member.working_hours = daily("09:00", "21:00");
            member.breaks = daily("13:00", "13:30");
            member.services = services
                .iter()
                .filter_map(|service| {
                    let performs = random.below(3) > 0;
                    let own = (random.below(4) == 0).then_some(service.duration_minutes + 15);
                    performs.then_some(StaffService {
                        service_id: service.id,
                        duration_minutes: own,
                    })
                })
                .collect();
            member
        })
        .collect();
    for _ in 0..5_000 {
        let member = &mut staff[random.below(20) as usize];
        let start = minutes_in(&mut random, 14);
        let end = start + TimeDelta::minutes(15 + 5 * random.below(10) as i64);
        member.busy.push(Interval { start, end });
    }
    staff[3].time_off.push(Interval {
        start: day_one,
        end: day_one + TimeDelta::days(3),
    });
    let resources = (0..4)
        .map(|n| {
            let mut resource = room(0x7000 + n, 1 + (n == 3) as u32);
            resource.display_order = n as i32;
            resource.usage = (0..100)
                .map(|_| {
                    let start = minutes_in(&mut random, 14);
                    let end = start + TimeDelta::minutes(30 + 15 * random.below(4) as i64);
                    ResourceUsage {
                        interval: Interval { start, end },
                        units: 1,
                    }
                })
                .collect();
            resource
        })
        .collect();
    let mut schedule = salon(Kolkata, services, staff);
    schedule.opening_hours = daily("09:00", "21:00");
    schedule.resources = resources;
    schedule
}

pub(super) fn large_request() -> SlotRequest {
    visit(
        SALON_DAY,
        "2027-06-27",
        &[(0x5000, None), (0x5003, None), (0x5001, None)],
    )
}

#[test]
fn a_large_location_matches_the_oracle() {
    let schedule = large_location();
    let request = large_request();
    let now = the_evening_before();
    let found = slots(&schedule, &request, now);
    assert!(found.len() > 100, "the input should leave room: {}", found.len());
    let oracle = Oracle::new(&schedule, request.first_date, request.last_date);
    assert_eq!(Some(found), oracle.find_slots(&request, now));
}

// Random small schedules against the oracle.

/// Places and days to test around: a zone without DST and two DST changes each in two zones.
const PLACES: [(Tz, &str); 5] = [
    (Kolkata, "2027-06-14"),
    (New_York, "2027-03-14"),
    (New_York, "2027-11-07"),
    (London, "2027-03-28"),
    (London, "2027-10-31"),
];

#[derive(Debug, Clone)]
struct Case {
    schedule: Schedule,
    request: SlotRequest,
    now: DateTime<Utc>,
}

/// Weekly hours from quarter-hour starts and lengths; some run past midnight.
fn week_hours(
    per_day: std::ops::RangeInclusive<usize>,
    quarters: std::ops::RangeInclusive<u32>,
) -> impl Strategy<Value = Vec<WallInterval>> {
    // Half the hours begin in the small hours, where clocks change.
    let start = prop_oneof![0..16_u32, 0..96_u32];
    prop::collection::vec(prop::collection::vec((start, quarters), per_day), 7).prop_map(|week| {
        WEEK.iter()
            .zip(week)
            .flat_map(|(&weekday, day)| {
                day.into_iter().map(move |(start, length)| {
                    let time = |quarter: u32| {
                        NaiveTime::from_hms_opt(quarter / 4 % 24, quarter % 4 * 15, 0).unwrap()
                    };
                    WallInterval {
                        weekday,
                        start: time(start),
                        end: time(start + length),
                    }
                })
            })
            .collect()
    })
}

/// UTC spans within four days of the origin, in five-minute steps.
fn spans(count: std::ops::RangeInclusive<usize>, longest: u32) -> impl Strategy<Value = Vec<(u32, u32)>> {
    prop::collection::vec((0..4 * 288_u32, 1..=longest / 5), count)
}

fn to_interval(origin: DateTime<Utc>, (start, length): (u32, u32)) -> Interval {
    let start = origin + TimeDelta::minutes(i64::from(start) * 5);
    Interval {
        start,
        end: start + TimeDelta::minutes(i64::from(length) * 5),
    }
}

/// Five-minute counts: duration, buffers, and a processing gap as its offset
/// and how far before the end it stops (zero or less: not strictly inside).
fn service_strategy() -> impl Strategy<Value = (u32, u32, u32, Option<(u32, i32)>, Option<u8>)> {
    (
        1..=18_u32,
        0..=2_u32,
        0..=3_u32,
        prop::option::of((0..=6_u32, -1..=3_i32)),
        prop::option::of(0..2_u8),
    )
}

type StaffParts = (
    u8,
    i32,
    bool,
    Vec<WallInterval>,
    Vec<WallInterval>,
    Vec<(u32, u32)>,
    Vec<(u32, u32)>,
    Vec<(bool, Option<u32>)>,
);

fn staff_strategy() -> impl Strategy<Value = StaffParts> {
    (
        any::<u8>(),
        0..3_i32,
        prop::bool::weighted(0.9),
        week_hours(1..=2, 8..=96),
        week_hours(0..=1, 1..=8).prop_map(|hours| hours.into_iter().step_by(3).collect()),
        spans(0..=1, 600),
        spans(0..=8, 120),
        prop::collection::vec((prop::bool::weighted(0.8), prop::option::of(1..=24_u32)), 3),
    )
}

type ResourceParts = (u8, u8, u32, i32, Vec<(u32, u32)>);

fn resource_strategy() -> impl Strategy<Value = ResourceParts> {
    (any::<u8>(), 0..2_u8, 1..=2_u32, 0..3_i32, spans(0..=4, 120))
}

fn case_strategy() -> impl Strategy<Value = Case> {
    let rules = (
        prop::sample::select(vec![0_u32, 30, 120]),
        1..=3_u32,
        prop::sample::select(vec![10_u32, 15, 30]),
    );
    let request = (
        prop::collection::vec((0..3_usize, prop::option::weighted(0.3, 0..3_usize)), 1..=3),
        1..=2_u64,
        0..=1_u64,
    );
    (
        prop::sample::select(PLACES.to_vec()),
        rules,
        week_hours(1..=2, 16..=96),
        prop::collection::vec(0..7_u64, 0..=1),
        prop::collection::vec(service_strategy(), 1..=3),
        prop::collection::vec(staff_strategy(), 1..=3),
        prop::collection::vec(resource_strategy(), 0..=2),
        request,
        // Sometimes on the minute, so that "now + notice" can fall on the grid.
        prop_oneof![0..36 * 3_600_i64, (0..36 * 12_i64).prop_map(|fives| fives * 300)],
    )
        .prop_map(
            |(place, rules, opening_hours, closed, services, staff, resources, request, now)| {
                let (zone, day) = place;
                let origin = utc(&format!("{day} 00:00")) - TimeDelta::days(1);
                let services: Vec<Service> = services
                    .into_iter()
                    .enumerate()
                    .map(|(n, (duration, before, after, gap, kind))| Service {
                        id: id(0x5000 + n as u128),
                        duration_minutes: duration * 5,
                        buffer_before_minutes: before * 5,
                        buffer_after_minutes: after * 5,
                        processing_gap: gap.map(|(offset, before_end)| ProcessingGap {
                            offset_minutes: offset * 5,
                            length_minutes: u32::try_from(duration as i32 - offset as i32 - before_end)
                                .unwrap_or(0)
                                * 5,
                        }),
                        resource_type_id: kind.map(|kind| id(0x7000 + u128::from(kind))),
                    })
                    .collect();
                let staff: Vec<StaffMember> = staff
                    .into_iter()
                    .enumerate()
                    .map(
                        |(
                            n,
                            (id_high, display_order, active, working_hours, breaks, off, busy, performs),
                        )| StaffMember {
                            id: id(u128::from(id_high) << 8 | n as u128),
                            display_order,
                            active,
                            working_hours,
                            breaks,
                            time_off: off.into_iter().map(|span| to_interval(origin, span)).collect(),
                            busy: busy.into_iter().map(|span| to_interval(origin, span)).collect(),
                            services: services
                                .iter()
                                .zip(performs)
                                .filter(|(_, (does, _))| *does)
                                .map(|(service, (_, own))| StaffService {
                                    service_id: service.id,
                                    duration_minutes: own.map(|own| own * 5),
                                })
                                .collect(),
                        },
                    )
                    .collect();
                let resources = resources
                    .into_iter()
                    .enumerate()
                    .map(|(n, (id_high, kind, capacity, display_order, usage))| Resource {
                        id: id(0x1_0000 | u128::from(id_high) << 8 | n as u128),
                        resource_type_id: id(0x7000 + u128::from(kind)),
                        display_order,
                        capacity,
                        usage: usage
                            .into_iter()
                            .map(|span| ResourceUsage {
                                interval: to_interval(origin, span),
                                units: 1 + span.1 % 2,
                            })
                            .collect(),
                    })
                    .collect();
                let (items, first_offset, length) = request;
                let first_date = origin.date_naive() + Days::new(first_offset);
                let request = SlotRequest {
                    items: items
                        .into_iter()
                        .map(|(service, staff_index)| RequestedItem {
                            service_id: services[service % services.len()].id,
                            staff_id: staff_index.map(|index| staff[index % staff.len()].id),
                        })
                        .collect(),
                    first_date,
                    last_date: first_date + Days::new(length),
                };
                let closures = closed
                    .into_iter()
                    .map(|offset| {
                        let closed = origin.date_naive() + Days::new(offset);
                        DateRange {
                            first: closed,
                            last: closed,
                        }
                    })
                    .collect();
                let (min_notice_minutes, max_days_ahead, step_minutes) = rules;
                Case {
                    schedule: Schedule {
                        zone,
                        rules: BookingRules {
                            min_notice_minutes,
                            max_days_ahead,
                            step_minutes,
                        },
                        opening_hours,
                        closures,
                        services,
                        staff,
                        resources,
                    },
                    request,
                    now: origin + TimeDelta::seconds(now),
                }
            },
        )
}

fn oracle_of(case: &Case) -> Oracle<'_> {
    Oracle::new(&case.schedule, case.request.first_date, case.request.last_date)
}

fn as_proposal(slot: &Slot) -> ProposedVisit {
    ProposedVisit {
        start: VisitStart::At(slot.start),
        items: slot
            .items
            .iter()
            .map(|item| ProposedItem {
                service_id: item.service_id,
                staff_id: item.staff_id,
                resource_id: item.resource_id,
            })
            .collect(),
    }
}

/// The same schedule with every list in reverse order.
fn reversed(schedule: &Schedule) -> Schedule {
    let mut reversed = schedule.clone();
    reversed.services.reverse();
    reversed.staff.reverse();
    reversed.resources.reverse();
    reversed.opening_hours.reverse();
    for member in &mut reversed.staff {
        member.busy.reverse();
        member.working_hours.reverse();
        member.services.reverse();
    }
    for resource in &mut reversed.resources {
        resource.usage.reverse();
    }
    reversed
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_slot_found_is_valid_for_the_oracle_and_for_validate(case in case_strategy()) {
        let oracle = oracle_of(&case);
        for slot in find_slots(&case.schedule, &case.request, case.now).unwrap_or_default() {
            let visit = as_proposal(&slot);
            prop_assert_eq!(oracle.validate(&visit, case.now), Some(slot.clone()));
            prop_assert_eq!(validate_visit(&case.schedule, &visit, case.now), Ok(slot));
        }
    }

    #[test]
    fn no_start_the_oracle_can_book_is_missed(case in case_strategy()) {
        let found = find_slots(&case.schedule, &case.request, case.now);
        let expected = oracle_of(&case).find_slots(&case.request, case.now);
        prop_assert_eq!(found.is_ok(), expected.is_some());
        let found: Vec<_> = found.unwrap_or_default().iter().map(|slot| slot.start).collect();
        let expected: Vec<_> = expected.unwrap_or_default().iter().map(|slot| slot.start).collect();
        prop_assert_eq!(found, expected);
    }

    #[test]
    fn the_assignment_offered_is_the_first_valid_one_in_preference_order(case in case_strategy()) {
        let found = find_slots(&case.schedule, &case.request, case.now).ok();
        prop_assert_eq!(found, oracle_of(&case).find_slots(&case.request, case.now));
    }

    #[test]
    fn an_answer_found_earlier_the_same_local_day_is_the_later_answer_from_its_first_bookable_slot(
        case in case_strategy(),
        later in prop_oneof![0..3_600_i64, 0..2 * 86_400_i64],
        pick in any::<prop::sample::Index>(),
    ) {
        let then = find_slots(&case.schedule, &case.request, case.now);
        let now = case.now + TimeDelta::seconds(later);
        let fresh = find_slots(&case.schedule, &case.request, now);
        if let Ok(then) = then {
            let same_day = local_time(case.schedule.zone, now).map(|t| t.date())
                == local_time(case.schedule.zone, case.now).map(|t| t.date());
            match still_bookable(&case.schedule, case.now, &then, now) {
                Some(from) => {
                    prop_assert!(same_day);
                    prop_assert_eq!(Ok(then[from..].to_vec()), fresh);
                }
                None => prop_assert!(!same_day),
            }
            prop_assert_eq!(still_bookable(&case.schedule, now + TimeDelta::seconds(1), &then, now), None);
            // At the very instant a slot stops being far enough ahead, it is still offered.
            if !then.is_empty() {
                let slot = &then[pick.index(then.len())];
                let notice = TimeDelta::minutes(i64::from(case.schedule.rules.min_notice_minutes));
                let edge = slot.start - notice;
                if let Some(from) = still_bookable(&case.schedule, case.now, &then, edge) {
                    prop_assert_eq!(&then[from], slot);
                    prop_assert_eq!(Ok(then[from..].to_vec()), find_slots(&case.schedule, &case.request, edge));
                }
            }
        }
    }

    #[test]
    fn the_same_input_gives_the_same_output_whatever_the_order_of_rows(case in case_strategy()) {
        let first = find_slots(&case.schedule, &case.request, case.now);
        prop_assert_eq!(&first, &find_slots(&case.schedule, &case.request, case.now));
        prop_assert_eq!(&first, &find_slots(&reversed(&case.schedule), &case.request, case.now));
    }

    #[test]
    fn validate_agrees_with_the_oracle(
        case in case_strategy(),
        start in 0..2 * 288_i64,
        wall_clock in any::<bool>(),
        choices in prop::collection::vec((0..3_usize, 0..3_usize, 0..3_usize), 1..=3),
    ) {
        let schedule = &case.schedule;
        let day = case.request.first_date.and_time(NaiveTime::MIN);
        let start = if wall_clock {
            VisitStart::Wall(day + TimeDelta::minutes(start * 5))
        } else {
            VisitStart::At(day.and_utc() + TimeDelta::minutes(start * 5))
        };
        let items = choices
            .into_iter()
            .map(|(service, staff, resource)| ProposedItem {
                service_id: schedule.services[service % schedule.services.len()].id,
                staff_id: schedule.staff[staff % schedule.staff.len()].id,
                resource_id: schedule.resources.get(resource).map(|resource| resource.id),
            })
            .collect();
        let visit = ProposedVisit { start, items };
        prop_assert_eq!(
            validate_visit(schedule, &visit, case.now).ok(),
            oracle_of(&case).validate(&visit, case.now)
        );
    }

    #[test]
    fn validate_agrees_with_the_oracle_on_variations_of_offered_slots(
        case in case_strategy(),
        change in (0..3_usize, 0..3_usize, 0..4_usize),
    ) {
        let schedule = &case.schedule;
        let oracle = oracle_of(&case);
        for slot in find_slots(schedule, &case.request, case.now).unwrap_or_default() {
            let mut visit = as_proposal(&slot);
            let (item, staff, resource) = change;
            let changed = &mut visit.items[item % slot.items.len()];
            changed.staff_id = schedule.staff[staff % schedule.staff.len()].id;
            changed.resource_id = schedule.resources.get(resource).map(|resource| resource.id);
            prop_assert_eq!(validate_visit(schedule, &visit, case.now).ok(), oracle.validate(&visit, case.now));
        }
    }
}

#[test]
fn assign_visit_places_any_staff_at_an_exact_start_off_the_grid() {
    let schedule = simple_day();
    let start = local(Kolkata, &format!("{SALON_DAY} 10:07"));
    let request = [RequestedItem {
        service_id: id(HAIRCUT),
        staff_id: None,
    }];
    let slot = assign_visit(&schedule, &request, VisitStart::At(start), the_evening_before()).unwrap();
    assert_eq!(slot.start, start);
    assert_eq!(staff_of(&slot), vec![id(ASHA)]);
    assert_eq!(slot.items[0].end, start + TimeDelta::minutes(45));

    // 12:30 + 45 min + 15 min cleanup runs into lunch: nobody can take it.
    let lunch = local(Kolkata, &format!("{SALON_DAY} 12:30"));
    assert_eq!(
        assign_visit(&schedule, &request, VisitStart::At(lunch), the_evening_before()),
        Err(VisitError::NoAssignment)
    );
    // The window and closure rules come first, as for validate_visit.
    let a_minute_late = start + TimeDelta::minutes(1);
    assert_eq!(
        assign_visit(&schedule, &request, VisitStart::At(start), a_minute_late),
        Err(VisitError::TooSoon)
    );
}
